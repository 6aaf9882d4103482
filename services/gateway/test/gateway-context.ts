import { generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";
import { connect, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { Headers, Subjects, type Principal, type Scope } from "@meridian/contracts";
import { MemoryTransport } from "@meridian/service-kit";
import { testInfra, uniqueName } from "@meridian/service-kit/testing";
import { loadGatewayConfig } from "../src/config.js";
import { start, type RunningGateway } from "../src/service.js";

const ISSUER = "meridian-auth";
const AUDIENCE = "meridian-api";

/** A request a fake service received: its payload and the principal the gateway sent with it. */
export interface Received {
  payload: Record<string, unknown>;
  principal?: Principal;
  correlationId?: string;
}

/**
 * One gateway started in-process on port 0 against the real NATS and Redis, with the services it talks to
 * played by fakes on their subjects: auth publishes a signing key of the test's own, so the test mints tokens.
 */
export class GatewayTestContext {
  readonly logs = new MemoryTransport();
  nc!: NatsConnection;
  gateway!: RunningGateway;
  private readonly kid = uniqueName("kid");
  private readonly key: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  private readonly fakes: Subscription[] = [];

  constructor(private readonly natsUrl = testInfra.natsUrl) {}

  async start(env: Record<string, string> = {}): Promise<this> {
    this.nc = await connect({ servers: this.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const jwk = { ...this.key.publicKey.export({ format: "jwk" }), kid: this.kid, alg: "ES256", use: "sig" };
    this.fake(Subjects.auth.signingKeys, () => ({ issuer: ISSUER, audience: AUDIENCE, keys: [jwk] }));
    const config = loadGatewayConfig({
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      NATS_URL: this.natsUrl,
      REDIS_URL: testInfra.redisUrl,
      HOST: "127.0.0.1",
      PORT: "0",
      DOWNSTREAM_SERVICES: "auth",
      RATE_LIMIT_PREFIX: `${uniqueName("rl")}:`,
      ...env,
    });
    this.gateway = await start(config, { logTransports: [this.logs], silentLogs: true });
    return this;
  }

  /** Answers `subject` with `reply(request)`; every request is also kept in the returned list. */
  fake(subject: string, reply: (request: Received) => unknown): Received[] {
    const received: Received[] = [];
    const sub = this.nc.subscribe(subject, {
      callback: (_err, msg: Msg) => {
        const principal = msg.headers?.get(Headers.principal);
        const request: Received = {
          payload: msg.json<Record<string, unknown>>(),
          ...(principal ? { principal: JSON.parse(principal) as Principal } : {}),
          correlationId: msg.headers?.get(Headers.correlationId) ?? "",
        };
        received.push(request);
        msg.respond(JSON.stringify(reply(request)));
      },
    });
    this.fakes.push(sub);
    return received;
  }

  /** An ES256 access token as auth would sign it. */
  token(scopes: Scope[], sub = randomUUID(), sid = randomUUID()): string {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const header = b64({ alg: "ES256", typ: "at+jwt", kid: this.kid });
    const claims = b64({ iss: ISSUER, aud: AUDIENCE, sub, sid, jti: randomUUID(), username: "tester", roles: ["user"], scope: scopes.join(" "), iat: now, exp: now + 300 });
    const signature = sign("sha256", Buffer.from(`${header}.${claims}`), { key: this.key.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url");
    return `${header}.${claims}.${signature}`;
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    for (const sub of this.fakes) sub.unsubscribe();
    await this.nc?.close();
  }
}
