/**
 * The closed list of error codes. Each code fixes its HTTP status and whether a retry may succeed,
 * so every service and the gateway agree on what a failure means.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: { status: 422, retryable: false },
  WEAK_PASSWORD: { status: 422, retryable: false },
  BAD_REQUEST: { status: 400, retryable: false },
  UNAUTHENTICATED: { status: 401, retryable: false },
  INVALID_CREDENTIALS: { status: 401, retryable: false },
  INVALID_TOKEN: { status: 401, retryable: false },
  TOKEN_REVOKED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  REQUEST_TIMEOUT: { status: 408, retryable: true },
  CONFLICT: { status: 409, retryable: false },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false },
  AGENT_DISABLED: { status: 409, retryable: false },
  USERNAME_TAKEN: { status: 409, retryable: false },
  EMAIL_TAKEN: { status: 409, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  /** Too many failed sign-ins for this account: locked for `details.retry_after` seconds. */
  LOGIN_LOCKED: { status: 429, retryable: true },
  /** The caller already has the maximum of queued (not yet started) tasks. */
  TOO_MANY_QUEUED_TASKS: { status: 429, retryable: true },
  HEADERS_TOO_LARGE: { status: 431, retryable: false },
  INTERNAL: { status: 500, retryable: false },
  SERVICE_UNAVAILABLE: { status: 503, retryable: true },
  TIMEOUT: { status: 504, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ErrorCodes, value);
}

/** One validation problem: where, and what is wrong. */
export interface Problem {
  path: string;
  message: string;
}

/** What crosses the wire when a request fails. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  status: number;
  retryable: boolean;
  details?: Problem[] | Record<string, unknown>;
}

/** The error every Meridian component throws on purpose; it keeps its code when it crosses NATS. */
export class MeridianError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details?: ErrorPayload["details"];

  constructor(code: ErrorCode, message: string, details?: ErrorPayload["details"]) {
    super(message);
    this.name = "MeridianError";
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.retryable = ErrorCodes[code].retryable;
    if (details !== undefined) this.details = details;
  }

  toPayload(): ErrorPayload {
    const payload: ErrorPayload = { code: this.code, message: this.message, status: this.status, retryable: this.retryable };
    if (this.details !== undefined) payload.details = this.details;
    return payload;
  }

  static fromPayload(payload: Partial<ErrorPayload> | undefined): MeridianError {
    const code = isErrorCode(payload?.code) ? payload.code : "INTERNAL";
    const message = typeof payload?.message === "string" && code !== "INTERNAL" ? payload.message : "Internal error";
    return new MeridianError(code, message, payload?.details);
  }
}
