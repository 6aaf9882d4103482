import { Buckets, ServiceNames, Streams, Subjects, type ServiceName } from "./subjects.js";
import { WorkerOperations, workerSubject, workerSubjectPattern } from "./schemas/worker.js";

/**
 * The NATS permission matrix: what each service's NATS user (and each SDK agent's) may publish and
 * subscribe to. The one source: the server-side JWTs are minted from it (deploy/run.mjs, the k8s
 * credentials script, the agent-registry's worker credentials), docs/nats-security.md prints it.
 *
 * Everything not allowed is denied. In particular only the gateway, realtime (for a user's Socket.IO
 * subscription), the executor (as itself, to read agent definitions) and auth (as itself, to remove a deleted
 * account's agents and tasks) can reach a subject whose handler reads the `Meridian-Principal` header; no other
 * client can claim a principal.
 */
export interface NatsPermissions {
  publish: readonly string[];
  subscribe: readonly string[];
  /** May answer requests it received (nats `allow_responses`): every service that serves endpoints. */
  allowResponses: boolean;
  /** The connection's `inboxPrefix`; only this user may subscribe below it, so no one reads another's replies. */
  inboxPrefix: string;
}

/** `_INBOX.<user>`: the private reply subjects of one NATS user. */
export const natsInboxPrefix = (user: string) => `_INBOX.${user}`;

const JS_API = "$JS.API";
const KV_STREAM = (bucket: string) => `KV_${bucket}`;

/** JetStream API calls every JetStream client makes (account info, to check the API is there). */
const jsBase = [`${JS_API}.INFO`];

/** Creates (idempotently), updates and reads the info of a stream; never deletes or purges it. */
const jsEnsureStream = (stream: string) => [`${JS_API}.STREAM.CREATE.${stream}`, `${JS_API}.STREAM.UPDATE.${stream}`, `${JS_API}.STREAM.INFO.${stream}`];

/** Creates, reads, pulls from and deletes consumers of one stream, and reads its messages. */
const jsConsume = (stream: string) => [
  `${JS_API}.CONSUMER.CREATE.${stream}`,
  `${JS_API}.CONSUMER.CREATE.${stream}.>`,
  `${JS_API}.CONSUMER.DURABLE.CREATE.${stream}.>`,
  `${JS_API}.CONSUMER.INFO.${stream}.>`,
  `${JS_API}.CONSUMER.DELETE.${stream}.>`,
  `${JS_API}.CONSUMER.LIST.${stream}`,
  `${JS_API}.CONSUMER.NAMES.${stream}`,
  `${JS_API}.CONSUMER.MSG.NEXT.${stream}.>`,
  `${JS_API}.STREAM.MSG.GET.${stream}`,
  `${JS_API}.DIRECT.GET.${stream}`,
  `${JS_API}.DIRECT.GET.${stream}.>`,
  `$JS.ACK.${stream}.>`,
  `$JS.FC.${stream}.>`,
];

/** The session revocation bucket: opened (created if missing), read and watched. */
const kvRead = (bucket: string) => [...jsEnsureStream(KV_STREAM(bucket)), ...jsConsume(KV_STREAM(bucket))];
const kvWrite = (bucket: string) => [...kvRead(bucket), `$KV.${bucket}.>`];

const health = (service: Exclude<ServiceName, "gateway">) =>
  ({ auth: Subjects.auth.health, "agent-registry": Subjects.agents.health, executor: Subjects.executor.health, realtime: Subjects.realtime.health })[service];

/** Every subject of a group of request/reply endpoints. */
const all = (group: Record<string, string>) => Object.values(group);

const service = (user: ServiceName, publish: string[], subscribe: string[], allowResponses = true): NatsPermissions => ({
  publish,
  subscribe: [...subscribe, `${natsInboxPrefix(user)}.>`],
  allowResponses,
  inboxPrefix: natsInboxPrefix(user),
});

/** Subjects only services call as themselves (removing a deleted account's agents and tasks): auth alone. */
const accountRemoval: readonly string[] = [Subjects.agents.deleteOwned, Subjects.tasks.cancelOwned];

/**
 * The gateway forwards user requests; `get-by-id` (full agent definitions with secrets) and the account-removal
 * subjects are not among them.
 */
const gatewayCalls = [
  ...all(Subjects.auth).filter((s) => s !== Subjects.auth.health),
  ...all(Subjects.agents).filter((s) => s !== Subjects.agents.getById && s !== Subjects.agents.health && !accountRemoval.includes(s)),
  ...all(Subjects.tasks).filter((s) => !accountRemoval.includes(s)),
  ...all(Subjects.analytics),
  Subjects.auth.health,
  Subjects.agents.health,
  Subjects.executor.health,
  Subjects.realtime.health,
];

export const NatsServicePermissions: Record<ServiceName, NatsPermissions> = {
  gateway: service(ServiceNames.gateway, [...gatewayCalls, ...jsBase, ...kvRead(Buckets.revokedSessions)], [], false),
  auth: service(ServiceNames.auth, [...accountRemoval, ...jsBase, ...kvWrite(Buckets.revokedSessions)], ["meridian.auth.>"]),
  "agent-registry": service(
    ServiceNames.agentRegistry,
    [...Streams.agentEvents.subjects, ...jsBase, ...jsEnsureStream(Streams.agentEvents.name)],
    ["meridian.agents.>"],
  ),
  executor: service(
    ServiceNames.executor,
    [
      Subjects.agents.get,
      Subjects.agents.getById,
      Subjects.executor.cancelRunning,
      ...Streams.tasks.subjects,
      ...Streams.taskEvents.subjects,
      ...jsBase,
      ...jsEnsureStream(Streams.tasks.name),
      ...jsConsume(Streams.tasks.name),
      ...jsEnsureStream(Streams.taskEvents.name),
    ],
    [
      "meridian.tasks.>",
      "meridian.analytics.>",
      "meridian.executor.>",
      ...WorkerOperations.map(workerSubjectPattern),
      // Agent changes (to drop cached definitions) and one task's events (a submission that waits for its result).
      ...Streams.agentEvents.subjects,
      ...Streams.taskEvents.subjects,
    ],
  ),
  realtime: service(
    ServiceNames.realtime,
    [
      Subjects.auth.signingKeys,
      Subjects.auth.apiKeyVerify,
      Subjects.tasks.get,
      ...jsBase,
      ...kvRead(Buckets.revokedSessions),
      `${JS_API}.STREAM.INFO.${Streams.taskEvents.name}`,
      ...jsConsume(Streams.taskEvents.name),
    ],
    [health("realtime")],
  ),
};

/** The NATS user name of an SDK agent's workers. */
export const agentNatsUser = (agentId: string) => `agent-${agentId}`;

/**
 * An SDK agent: publishes only its own agent's worker subjects and reads only its own inbox. It cannot
 * reach the queue, another agent's subjects, any service endpoint or another user's replies.
 */
export function agentWorkerPermissions(agentId: string): NatsPermissions {
  const inboxPrefix = natsInboxPrefix(agentNatsUser(agentId));
  return {
    publish: WorkerOperations.map((op) => workerSubject(agentId, op)),
    subscribe: [`${inboxPrefix}.>`],
    allowResponses: false,
    inboxPrefix,
  };
}

/** The matrix as a markdown table (docs/nats-security.md prints it; a test keeps the two the same). */
export function natsPermissionsMarkdown(): string {
  const cell = (subjects: readonly string[]) => subjects.map((s) => `\`${s}\``).join("<br>");
  const rows = [
    ...Object.entries(NatsServicePermissions).map(([user, p]) => ({ user, p })),
    { user: "agent-&lt;agent id&gt; (sdk workers)", p: agentWorkerPermissions("<agent id>") },
  ];
  return [
    "| NATS user | may publish | may subscribe | answers requests (`allow_responses`) | inbox prefix |",
    "|---|---|---|---|---|",
    ...rows.map(({ user, p }) => `| ${user} | ${cell(p.publish)} | ${cell(p.subscribe)} | ${p.allowResponses ? "yes, once each" : "no"} | \`${p.inboxPrefix}\` |`),
  ].join("\n");
}
