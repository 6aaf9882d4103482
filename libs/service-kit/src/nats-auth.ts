import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nkeys } from "@nats-io/transport-node";
import { NatsServicePermissions, ServiceNames, type NatsPermissions, type ServiceName } from "@meridian/contracts";

/**
 * NATS decentralized auth (JWT), the way nats-server 2.9 checks it: an operator vouches for accounts, an
 * account (through its signing key) vouches for users, a user proves its identity with its nkey seed.
 * Meridian has one account (JetStream on) and the system account; every service and every SDK agent is
 * a user of the Meridian account whose JWT carries its permissions from the contracts' matrix.
 */

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString("base64url");
const te = new TextEncoder();

/** A JWT of the NATS v2 format, signed with an nkey (alg ed25519-nkey); `jti` hashes the claims. */
export function encodeNatsJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>, expiresAt?: Date): string {
  const claims: Record<string, unknown> = {
    jti: "",
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    ...(expiresAt ? { exp: Math.floor(expiresAt.getTime() / 1000) } : {}),
    nats: { ...nats, version: 2 },
  };
  claims.jti = Buffer.from(createHash("sha512-256").update(JSON.stringify(claims)).digest()).toString("hex").toUpperCase();
  const unsigned = `${b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }))}.${b64url(JSON.stringify(claims))}`;
  return `${unsigned}.${b64url(issuer.sign(te.encode(unsigned)))}`;
}

/** The claims of a NATS JWT (not verified: the server verifies; this is for reading back what was minted). */
export function decodeNatsJwt(jwt: string): { sub: string; name: string; exp?: number; nats: Record<string, unknown> } {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as ReturnType<typeof decodeNatsJwt>;
}

/** The `.creds` file nats clients read (nats.js `credsAuthenticator`, the nats CLI, every other client). */
export function formatCreds(jwt: string, seed: string): string {
  return [
    "-----BEGIN NATS USER JWT-----",
    jwt,
    "------END NATS USER JWT------",
    "",
    "************************* IMPORTANT *************************",
    "NKEY Seed printed below can be used to sign and prove identity.",
    "NKEYs are sensitive and should be treated as secrets.",
    "",
    "-----BEGIN USER NKEY SEED-----",
    seed,
    "------END USER NKEY SEED------",
    "",
    "*************************************************************",
    "",
  ].join("\n");
}

/** What signs users: the Meridian account's public key and one of its signing keys' seed. */
export interface NatsUserIssuer {
  account: string;
  signingKeySeed: string;
}

/** A user of the Meridian account with exactly these permissions; `expiresAt` bounds a credential handed out. */
export function mintUserCreds(issuer: NatsUserIssuer, name: string, permissions: NatsPermissions, expiresAt?: Date): { creds: string; jwt: string; publicKey: string } {
  const signer = nkeys.fromSeed(te.encode(issuer.signingKeySeed));
  const user = nkeys.createUser();
  const nats = {
    type: "user",
    issuer_account: issuer.account,
    pub: { allow: [...permissions.publish] },
    sub: { allow: [...permissions.subscribe] },
    ...(permissions.allowResponses ? { resp: { max: 1, ttl: 0 } } : {}),
    subs: -1,
    data: -1,
    payload: -1,
  };
  const jwt = encodeNatsJwt(signer, user.getPublicKey(), name, nats, expiresAt);
  return { creds: formatCreds(jwt, new TextDecoder().decode(user.getSeed())), jwt, publicKey: user.getPublicKey() };
}

/** Every secret of one Meridian NATS deployment: generate once, keep out of git. */
export interface NatsTrust {
  operatorJwt: string;
  systemAccount: string;
  systemAccountJwt: string;
  account: string;
  accountJwt: string;
  signingKeySeed: string;
}

const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

/** A new operator, system account and Meridian account (JetStream unlimited) with one signing key. */
export function createNatsTrust(): NatsTrust {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const account = nkeys.createAccount();
  const signingKey = nkeys.createAccount();
  const operatorJwt = encodeNatsJwt(operator, operator.getPublicKey(), "meridian", { type: "operator", system_account: system.getPublicKey() });
  const systemAccountJwt = encodeNatsJwt(operator, system.getPublicKey(), "SYS", { type: "account", limits: unlimited });
  const accountJwt = encodeNatsJwt(operator, account.getPublicKey(), "MERIDIAN", {
    type: "account",
    limits: { ...unlimited, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
    signing_keys: [signingKey.getPublicKey()],
  });
  return {
    operatorJwt,
    systemAccount: system.getPublicKey(),
    systemAccountJwt,
    account: account.getPublicKey(),
    accountJwt,
    signingKeySeed: new TextDecoder().decode(signingKey.getSeed()),
  };
}

/**
 * The auth part of a nats-server config for this trust: operator mode with the accounts preloaded in
 * memory (2.9 has no auth callout; users need no server change, they carry their own signed JWT).
 */
export function natsServerAuthConfig(trust: Pick<NatsTrust, "operatorJwt" | "systemAccount" | "systemAccountJwt" | "account" | "accountJwt">): string {
  return [
    `operator: ${trust.operatorJwt}`,
    `system_account: ${trust.systemAccount}`,
    "resolver: MEMORY",
    "resolver_preload: {",
    `  ${trust.systemAccount}: ${trust.systemAccountJwt}`,
    `  ${trust.account}: ${trust.accountJwt}`,
    "}",
    "",
  ].join("\n");
}

/** Each service's `.creds` text, minted from the contracts' matrix (no expiry: rotate by minting anew). */
export function mintServiceCreds(trust: NatsUserIssuer): Record<ServiceName, string> {
  const names = Object.values(ServiceNames);
  return Object.fromEntries(names.map((name) => [name, mintUserCreds(trust, name, NatsServicePermissions[name]).creds])) as Record<ServiceName, string>;
}

/** What {@link writeNatsAuthFiles} wrote. */
export interface NatsAuthFiles {
  /** Include it in the nats-server config (`include "nats-server-auth.conf"`). */
  serverConfig: string;
  /** `<service>.creds` of each service: its NATS_CREDS. */
  creds: Record<ServiceName, string>;
  /** The agent-registry's settings to mint sdk agents' worker credentials. */
  registryEnv: { NATS_ACCOUNT: string; NATS_ACCOUNT_SIGNING_KEY: string };
}

/**
 * The trust kept in `<dir>/nats-trust.json` (created on first use, mode 600), the server's `nats-server-auth.conf`,
 * each service's `<service>.creds` and `agent-registry-nats.env`: everything one deployment needs, from the matrix.
 * The operator's and the account's own seeds are never kept: a new trust replaces the whole set.
 */
export function writeNatsAuthFiles(dir: string): NatsAuthFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const trustFile = join(dir, "nats-trust.json");
  const trust = existsSync(trustFile) ? (JSON.parse(readFileSync(trustFile, "utf8")) as NatsTrust) : createNatsTrust();
  const secret = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  secret("nats-trust.json", `${JSON.stringify(trust, null, 2)}\n`);
  const serviceCreds = mintServiceCreds(trust);
  const creds = Object.fromEntries(Object.entries(serviceCreds).map(([name, text]) => [name, secret(`${name}.creds`, text)])) as Record<ServiceName, string>;
  const registryEnv = { NATS_ACCOUNT: trust.account, NATS_ACCOUNT_SIGNING_KEY: trust.signingKeySeed };
  secret("agent-registry-nats.env", Object.entries(registryEnv).map(([k, v]) => `${k}=${v}\n`).join(""));
  return { serverConfig: secret("nats-server-auth.conf", natsServerAuthConfig(trust)), creds, registryEnv };
}
