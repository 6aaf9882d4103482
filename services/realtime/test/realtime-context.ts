import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { SignJWT } from "jose";
import { io, type Socket } from "socket.io-client";
import {
  MeridianError,
  Streams,
  Subjects,
  taskEventSubject,
  type Principal,
  type SigningKeys,
  type TaskEvent,
} from "@meridian/contracts";
import {
  createLogger,
  jetstream,
  jetstreamManager,
  MemoryTransport,
  serveEndpoint,
  type JetStreamClient,
  type JetStreamManager,
} from "@meridian/service-kit";
import { startNatsServer, testInfra, uniqueName, type NatsServerHandle } from "@meridian/service-kit/testing";
import { loadRealtimeConfig } from "../src/config.js";
import { start, type RunningRealtime } from "../src/service.js";

const ISSUER = "meridian-auth";
const AUDIENCE = "meridian-api";

/** The task event stream as the executor creates it (memory storage is enough for a test or a bench). */
export async function ensureTaskEventStream(jsm: JetStreamManager): Promise<void> {
  await jsm.streams.add({ name: Streams.taskEvents.name, subjects: [...Streams.taskEvents.subjects], duplicate_window: 120_000_000_000 }).catch(async (err: unknown) => {
    if (!(await jsm.streams.info(Streams.taskEvents.name).catch(() => undefined))) throw err;
  });
}

/**
 * Realtime in-process on a private nats-server, with the two peers it asks standing in on NATS: auth's
 * signing keys (a key of this context's own) and the executor's `tasks.get` (a task is visible to its
 * owner and to admins).
 */
export class RealtimeTestContext {
  nats!: NatsServerHandle;
  nc!: NatsConnection;
  js!: JetStreamClient;
  jsm!: JetStreamManager;
  realtime!: RunningRealtime;
  readonly owners = new Map<string, string>();
  /** Every replica's log lines. */
  readonly logs = new MemoryTransport();
  private readonly replicas: RunningRealtime[] = [];
  private readonly key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  private readonly kid = uniqueName("kid");
  private readonly sockets: Socket[] = [];

  async start(env: Record<string, string> = {}): Promise<this> {
    await this.startPeers();
    this.realtime = await this.startReplica(env);
    return this;
  }

  /** NATS with the task event stream and the stand-ins for auth and the executor; no realtime replica yet. */
  async startPeers(): Promise<void> {
    this.nats = await startNatsServer();
    this.nc = await connect({ servers: this.nats.url });
    this.js = jetstream(this.nc);
    this.jsm = await jetstreamManager(this.nc);
    await ensureTaskEventStream(this.jsm);
    const logger = createLogger({ service: "realtime-test-peers", silent: true });
    const jwk = { ...createPublicKey(createPrivateKey(this.key)).export({ format: "jwk" }), kid: this.kid, alg: "ES256", use: "sig" };
    serveEndpoint<unknown, SigningKeys>(this.nc, "auth", logger, {
      subject: Subjects.auth.signingKeys,
      handler: () => ({ keys: [jwk], issuer: ISSUER, audience: AUDIENCE }),
    });
    serveEndpoint<{ id: string }, { id: string; owner_id: string }>(this.nc, "executor", logger, {
      subject: Subjects.tasks.get,
      handler: ({ data, principal }) => {
        const owner = this.owners.get(data.id);
        if (!owner || !principal || (owner !== principal.sub && !principal.roles.includes("admin"))) throw new MeridianError("NOT_FOUND", "Task not found");
        return { id: data.id, owner_id: owner };
      },
    });
    await this.nc.flush();
  }

  /** Another realtime replica on the same NATS and Redis; its relay sees only events published from now on. */
  async startReplica(env: Record<string, string> = {}): Promise<RunningRealtime> {
    const config = loadRealtimeConfig({
      NODE_ENV: "test",
      NATS_URL: this.nats.url,
      REDIS_URL: testInfra.redisUrl,
      HOST: "127.0.0.1",
      PORT: "0",
      REPLICA_ID: uniqueName("rt"),
      ...env,
    });
    const replica = await start(config, { logTransports: [this.logs], silentLogs: true });
    this.replicas.push(replica);
    return replica;
  }

  token(principal: Partial<Principal> & { sub: string }, ttlSeconds = 600): Promise<string> {
    return new SignJWT({ username: principal.username ?? "rt_user", roles: principal.roles ?? ["user"], scope: "tasks:read", sid: principal.sid ?? randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: this.kid, typ: "at+jwt" })
      .setSubject(principal.sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(createPrivateKey(this.key));
  }

  async connect(sub: string, replica: RunningRealtime = this.realtime, transports = ["websocket"]): Promise<Socket> {
    const socket = io(replica.url, { auth: { token: await this.token({ sub }) }, transports, reconnection: false, forceNew: true });
    this.sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    return socket;
  }

  /** A task of `owner` that the executor stand-in knows. */
  task(owner: string): { id: string; event: (seq: number, extra?: Partial<TaskEvent>) => TaskEvent } {
    const id = randomUUID();
    this.owners.set(id, owner);
    return {
      id,
      event: (seq, extra = {}) => ({
        task_id: id,
        seq,
        type: seq === 1 ? "queued" : "progress",
        agent: "rt-agent",
        agent_id: randomUUID(),
        owner_id: owner,
        attempt: 1,
        data: { n: seq },
        at: new Date().toISOString(),
        correlation_id: randomUUID(),
        ...extra,
      }),
    };
  }

  /** As the executor publishes: on the task's subject with `Nats-Msg-Id` `<task>:<seq>`. */
  async publish(event: TaskEvent): Promise<number> {
    const ack = await this.js.publish(taskEventSubject(event.owner_id, event.task_id), JSON.stringify(event), { msgID: `${event.task_id}:${event.seq}` });
    return ack.seq;
  }

  async stopReplica(replica: RunningRealtime): Promise<void> {
    this.replicas.splice(this.replicas.indexOf(replica), 1);
    await replica.stop();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.disconnect();
    for (const replica of [...this.replicas]) await this.stopReplica(replica);
    await this.nc?.close();
    await this.nats?.stop();
  }
}
