import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceName } from "@meridian/contracts";
import { writeNatsAuthFiles, type NatsAuthFiles } from "@meridian/service-kit";
import { startNatsServer, type NatsServerHandle } from "@meridian/service-kit/testing";

export interface SecuredNats {
  server: NatsServerHandle;
  files: NatsAuthFiles;
  /** Per-service settings for a Stack: each its own NATS_CREDS, the registry its account signing key. */
  serviceEnv: Record<ServiceName, Record<string, string>>;
  stop(): Promise<void>;
}

/** A private nats-server in operator mode with the generated accounts, as `npm start` runs it, and every service's credentials. */
export async function startSecuredNats(): Promise<SecuredNats> {
  const dir = mkdtempSync(join(tmpdir(), "meridian-nats-auth-"));
  const files = writeNatsAuthFiles(dir);
  const server = await startNatsServer({ config: files.serverConfig });
  const env = (service: ServiceName) => ({ NATS_CREDS: files.creds[service] });
  return {
    server,
    files,
    serviceEnv: {
      gateway: env("gateway"),
      auth: env("auth"),
      "agent-registry": { ...env("agent-registry"), ...files.registryEnv },
      executor: env("executor"),
      realtime: env("realtime"),
    },
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
