// Generate (or refresh from the kept trust) everything a secured NATS deployment needs, from the permission matrix
// in libs/contracts/src/nats-permissions.ts: `node deploy/nats-auth.mjs <dir>` (after `npm run build`).
//   nats-trust.json          the account signing key and the operator/account JWTs: keep it secret, keep it
//   nats-server-auth.conf    operator mode, accounts preloaded (resolver: MEMORY): include it in nats.conf
//   <service>.creds          each service's NATS user (its NATS_CREDS)
//   agent-registry-nats.env  NATS_ACCOUNT and NATS_ACCOUNT_SIGNING_KEY: the registry mints sdk agents' credentials
// For Kubernetes: node deploy/nats-auth.mjs k8s/secrets && kubectl apply -k k8s/secrets (k8s/README.md).
import { resolve } from "node:path";
import { writeNatsAuthFiles } from "../libs/service-kit/dist/src/index.js";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node deploy/nats-auth.mjs <dir>\n");
  process.exit(2);
}
const files = writeNatsAuthFiles(resolve(dir));
process.stdout.write(`wrote ${files.serverConfig}, ${Object.values(files.creds).join(", ")} and agent-registry-nats.env\n`);
