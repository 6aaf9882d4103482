/**
 * Entries of the revoked-credentials bucket (`Buckets.revokedSessions`), written by auth only: `sid.<session id>`
 * for a revoked session, `apikey.<key id>` for a revoked API key. Gateways watch the whole bucket and keep it in
 * memory, so a revocation reaches every replica's credential cache within a second.
 */
export const RevokedEntryKeys = {
  sessionPrefix: "sid.",
  apiKeyPrefix: "apikey.",
  session: (sessionId: string) => `sid.${sessionId}`,
  apiKey: (keyId: string) => `apikey.${keyId}`,
} as const;
