/**
 * Every NATS subject Meridian uses. Hierarchical so permissions can be carved by prefix
 * (`meridian.auth.>` belongs to the auth service). Never write a subject as a string literal elsewhere.
 */
export const Subjects = {
  auth: {
    register: "meridian.auth.register",
    login: "meridian.auth.login",
    refresh: "meridian.auth.refresh",
    logout: "meridian.auth.logout",
    me: "meridian.auth.me",
    signingKeys: "meridian.auth.keys",
    apiKeyCreate: "meridian.auth.api-keys.create",
    apiKeyList: "meridian.auth.api-keys.list",
    apiKeyRevoke: "meridian.auth.api-keys.revoke",
    apiKeyVerify: "meridian.auth.api-keys.verify",
    health: "meridian.auth.health",
  },
} as const;

type Leaves<T> = T extends string ? T : { [K in keyof T]: Leaves<T[K]> }[keyof T];
export type Subject = Leaves<typeof Subjects>;

/** Service names double as their NATS queue group, so replicas share the load. */
export const ServiceNames = {
  gateway: "gateway",
  auth: "auth",
} as const;
export type ServiceName = (typeof ServiceNames)[keyof typeof ServiceNames];

/** Services the gateway forwards to; readiness asks each of them for health. */
export const DownstreamHealthSubjects: Record<Exclude<ServiceName, "gateway">, Subject> = {
  auth: Subjects.auth.health,
};

/** JetStream KV buckets shared between services. */
export const Buckets = {
  /** Keys `sid.<session id>`: sessions revoked before their access tokens expire. Written by auth only. */
  revokedSessions: "meridian_revoked_sessions",
} as const;

/** Entries outlive the longest access token, so a revoked session stays revoked until its tokens expire. */
export const REVOKED_SESSIONS_TTL_MS = 24 * 60 * 60 * 1000;
export const MAX_ACCESS_TOKEN_TTL_S = REVOKED_SESSIONS_TTL_MS / 1000;

/** A token that is safe inside a NATS subject: no dots, wildcards or whitespace. */
export const SUBJECT_TOKEN_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
