import helmet from "helmet";

const PERMISSIONS_POLICY = "geolocation=(), microphone=(), camera=(), payment=(), usb=()";

/**
 * The gateway's security headers (helmet) for realtime's own HTTP answers (health, 404, Socket.IO polling and
 * handshake): it serves no documents, so its CSP allows nothing. Computed once, since nothing depends on the request.
 */
export function securityHeaders(production: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let ran = false;
  helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { "default-src": ["'none'"], "frame-ancestors": ["'none'"] } },
    strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: "deny" },
    referrerPolicy: { policy: "strict-origin-when-cross-origin" },
    xContentTypeOptions: true,
  })({} as never, recorder as never, () => (ran = true));
  if (!ran) throw new Error("helmet did not complete synchronously");
  headers["permissions-policy"] = PERMISSIONS_POLICY;
  return headers;
}
