import { readdirSync, readFileSync } from "node:fs";
import { expect } from "chai";
import YAML from "yaml";
import {
  type K8sObject,
  join,
  kubectlAvailable,
  kubectlKustomize,
  renderKustomization,
  repoRoot,
  serviceSettings,
  validateAgainstSchema,
} from "./manifests.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are untyped JSON walked by path */
type Any = any;

const k8s = join(repoRoot, "k8s");
const services = ["gateway", "auth", "agent-registry", "executor", "realtime"];
const OPS_PORT = 9464;

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as Any[];
const podSpec = (o: Any) => (o.kind === "Job" || o.kind === "Deployment" || o.kind === "StatefulSet" ? o.spec.template.spec : undefined);
const selects = (selector: Any, labels: Record<string, string>) => {
  const matchLabels = Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressions = (selector?.matchExpressions ?? []).every((e: Any) =>
    e.operator === "In" ? e.values.includes(labels[e.key]) : e.operator === "Exists" ? e.key in labels : false,
  );
  return matchLabels && expressions;
};
const withoutHash = (name: string) => name.replace(/-[a-z0-9]{10}$/, "");
/** JSON with sorted keys: kubectl prints maps sorted, the YAML files keep their own order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

function preStopSeconds(container: Any): number {
  const cmd: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
  return cmd[0] === "sleep" ? Number(cmd[1]) : (container.lifecycle?.preStop?.sleep?.seconds ?? 0);
}

function configValue(objects: K8sObject[], container: Any, key: string): string | undefined {
  const direct = (container.env ?? []).find((e: Any) => e.name === key)?.value;
  if (direct !== undefined) return direct;
  let found: string | undefined;
  for (const from of container.envFrom ?? []) {
    const cm = byKind(objects, "ConfigMap").find((c) => c.metadata.name === from.configMapRef?.name);
    if (cm?.data?.[key] !== undefined) found = cm.data[key];
  }
  return found;
}

/** Checks every rendering must pass: base (npm path), dev and prod. */
function commonChecks(render: () => K8sObject[]) {
  let objects: K8sObject[] = [];
  before(function () {
    objects = render();
  });

  it("when validated against the Kubernetes API schemas, then every object is valid", async function () {
    expect(objects.length).to.be.greaterThan(20);
    for (const o of objects) {
      try {
        await validateAgainstSchema(o);
      } catch (err) {
        throw new Error(`${o.kind}/${o.metadata.name}: ${(err as Error).message}`, { cause: err });
      }
    }
  });

  it("when listing Deployments, then there is one per service, each with its Service", function () {
    expect(byKind(objects, "Deployment").map((d) => d.metadata.name).sort()).to.deep.equal([...services].sort());
    for (const name of services) {
      const svc = byKind(objects, "Service").find((s) => s.metadata.name === name);
      expect(svc, `Service ${name}`).to.not.equal(undefined);
      expect(svc.spec.selector).to.deep.equal({ "app.kubernetes.io/name": name });
    }
  });

  it("when reading every Deployment, then it has probes on the ops port, resources, a rolling update and preStop", function () {
    for (const d of byKind(objects, "Deployment")) {
      const where = `Deployment ${d.metadata.name}`;
      expect(d.spec.strategy?.type, where).to.equal("RollingUpdate");
      const spec = podSpec(d);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const kind of ["requests", "limits"]) {
          expect(c.resources?.[kind]?.cpu, `${where} ${c.name} ${kind}.cpu`).to.not.equal(undefined);
          expect(c.resources?.[kind]?.memory, `${where} ${c.name} ${kind}.memory`).to.not.equal(undefined);
        }
      }
      for (const c of spec.containers) {
        const ops = (c.ports ?? []).find((p: Any) => p.name === "ops");
        expect(ops?.containerPort, `${where} ops port`).to.equal(OPS_PORT);
        expect(c.startupProbe?.httpGet, `${where} startupProbe`).to.deep.include({ path: "/healthz", port: "ops" });
        expect(c.livenessProbe?.httpGet, `${where} livenessProbe`).to.deep.include({ path: "/healthz", port: "ops" });
        expect(c.readinessProbe?.httpGet, `${where} readinessProbe`).to.deep.include({ path: "/readyz", port: "ops" });
        expect(preStopSeconds(c), `${where} preStop`).to.be.greaterThan(0);
        const grace = Number(configValue(objects, c, "SHUTDOWN_GRACE_MS") ?? 10_000);
        expect(spec.terminationGracePeriodSeconds * 1000, `${where} terminationGracePeriodSeconds`).to.be.greaterThan(
          grace + preStopSeconds(c) * 1000,
        );
      }
      expect(d.spec.template.metadata.annotations).to.include({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(OPS_PORT),
        "prometheus.io/path": "/metrics",
      });
    }
  });

  it("when reading every workload, then it runs non-root, read-only, without capabilities, with seccomp", function () {
    for (const w of [...byKind(objects, "Deployment"), ...byKind(objects, "StatefulSet"), ...byKind(objects, "Job")]) {
      const where = `${w.kind} ${w.metadata.name}`;
      const spec = podSpec(w);
      expect(spec.securityContext?.runAsNonRoot, `${where} runAsNonRoot`).to.equal(true);
      expect(spec.securityContext?.seccompProfile?.type, `${where} seccomp`).to.equal("RuntimeDefault");
      expect(spec.automountServiceAccountToken, `${where} service account token`).to.equal(false);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        expect(c.securityContext?.readOnlyRootFilesystem, `${where} ${c.name} readOnlyRootFilesystem`).to.equal(true);
        expect(c.securityContext?.allowPrivilegeEscalation, `${where} ${c.name} allowPrivilegeEscalation`).to.equal(false);
        expect(c.securityContext?.capabilities?.drop, `${where} ${c.name} capabilities`).to.deep.equal(["ALL"]);
      }
    }
  });

  it("when reading the network policies, then all is denied by default and every workload has its own policy", function () {
    const policies = byKind(objects, "NetworkPolicy");
    const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
    expect(deny?.spec.policyTypes).to.have.members(["Ingress", "Egress"]);
    for (const w of [...byKind(objects, "Deployment"), ...byKind(objects, "StatefulSet"), ...byKind(objects, "Job")]) {
      const labels = w.spec.template.metadata.labels;
      const own = policies.filter((p) => Object.keys(p.spec.podSelector).length > 0 && selects(p.spec.podSelector, labels));
      expect(own, `${w.kind} ${w.metadata.name} NetworkPolicy`).to.have.length.greaterThan(0);
    }
  });

  it("when reading every Deployment, then it connects to NATS as its own user, and NATS loads the generated accounts", function () {
    for (const d of byKind(objects, "Deployment")) {
      const spec = podSpec(d);
      const c = spec.containers[0];
      const creds = configValue(objects, c, "NATS_CREDS");
      const volume = spec.volumes.find((v: Any) => v.secret?.secretName === `${d.metadata.name}-nats`);
      expect(volume, `${d.metadata.name}: its NATS credentials Secret`).to.not.equal(undefined);
      const mount = c.volumeMounts.find((m: Any) => m.name === volume.name);
      expect(creds, `${d.metadata.name} NATS_CREDS`).to.equal(`${mount.mountPath}/${volume.secret.items[0].path}`);
    }
    const nats = byKind(objects, "StatefulSet").find((s) => s.metadata.name === "nats");
    expect(podSpec(nats).volumes.map((v: Any) => v.secret?.secretName)).to.include("nats-server-auth");
    const conf = byKind(objects, "ConfigMap").find((m) => withoutHash(m.metadata.name) === "nats-config");
    expect(conf.data["nats.conf"]).to.include('include "../nats-auth/nats-server-auth.conf"');
  });

  it("when reading who may reach NATS, Redis and PostgreSQL, then it is exactly the services that need them", function () {
    const policy = (name: string) => byKind(objects, "NetworkPolicy").find((p) => p.metadata.name === name);
    const allowed = (name: string) => policy(name).spec.ingress[0].from[0].podSelector.matchExpressions[0].values;
    expect(allowed("nats")).to.have.members(services);
    expect(allowed("redis")).to.have.members(["gateway", "realtime"]);
    expect(allowed("postgres")).to.have.members(["auth", "agent-registry", "executor", "meridian-migrate"]);
    const executorInternet = policy("executor").spec.egress.flatMap((r: Any) => r.to).find((t: Any) => t.ipBlock?.cidr === "0.0.0.0/0");
    expect(executorInternet.ipBlock.except).to.include.members(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]);
    for (const name of ["gateway", "realtime", "auth", "agent-registry"]) {
      const cidrs = policy(name).spec.egress.flatMap((r: Any) => r.to).filter((t: Any) => t.ipBlock);
      expect(cidrs, `${name} reaches no address range`).to.have.length(0);
    }
  });

  it("when reading the ingress, then /api goes to the gateway and /socket.io to realtime with cookie affinity", function () {
    const paths = byKind(objects, "Ingress").flatMap((i) =>
      i.spec.rules.flatMap((r: Any) => r.http.paths.map((p: Any) => ({ ingress: i, path: p.path, service: p.backend.service.name }))),
    );
    expect(paths.find((p) => p.path === "/api")?.service).to.equal("gateway");
    const socket = paths.find((p) => p.path === "/socket.io");
    expect(socket?.service).to.equal("realtime");
    expect(socket!.ingress.metadata.annotations["nginx.ingress.kubernetes.io/affinity"]).to.equal("cookie");
  });

  it("when reading the config maps, then every key is a setting the service reads", function () {
    for (const d of byKind(objects, "Deployment")) {
      const known = serviceSettings(d.metadata.name);
      const c = podSpec(d).containers[0];
      for (const from of c.envFrom ?? []) {
        if (!from.configMapRef) continue;
        const cm = byKind(objects, "ConfigMap").find((m) => m.metadata.name === from.configMapRef.name);
        expect(cm, `${d.metadata.name}: ConfigMap ${from.configMapRef.name}`).to.not.equal(undefined);
        for (const key of Object.keys(cm.data)) expect(known.has(key), `${d.metadata.name} does not read ${key}`).to.equal(true);
      }
      for (const e of c.env ?? []) expect(known.has(e.name), `${d.metadata.name} does not read ${e.name}`).to.equal(true);
    }
  });

  it("when reading the gateway and realtime, then they listen on every interface of the pod (their default is 127.0.0.1 for npm start)", function () {
    for (const d of byKind(objects, "Deployment").filter((o) => ["gateway", "realtime"].includes(o.metadata.name))) {
      expect(configValue(objects, podSpec(d).containers[0], "HOST"), `${d.metadata.name} HOST`).to.equal("0.0.0.0");
    }
  });

  it("when looking for secrets, then none is rendered: they come from k8s/secrets", function () {
    expect(byKind(objects, "Secret")).to.have.length(0);
  });

  return () => objects;
}

describe("k8s manifests", function () {
  this.timeout(20_000);

  describe("base, rendered without kubectl (the npm path)", function () {
    commonChecks(() => renderKustomization(join(k8s, "base")));
  });

  for (const overlay of ["dev", "prod"]) {
    describe(`overlay ${overlay}, rendered by kubectl kustomize`, function () {
      before(function () {
        if (!kubectlAvailable()) this.skip();
      });
      const objects = commonChecks(() => kubectlKustomize(join(k8s, "overlays", overlay)));

      it("when rendered without kubectl, then the same objects, images and replica counts come out", function () {
        const ours = renderKustomization(join(k8s, "overlays", overlay));
        const summary = (list: K8sObject[]) =>
          list
            .map((o: Any) => {
              const spec = podSpec(o);
              const images = spec ? [...(spec.initContainers ?? []), ...spec.containers].map((c: Any) => c.image) : [];
              const resources = spec ? spec.containers.map((c: Any) => c.resources) : [];
              return canonical([o.kind, withoutHash(o.metadata.name), o.metadata.namespace, o.spec?.replicas, images, resources, o.data]);
            })
            .sort();
        expect(summary(ours)).to.deep.equal(summary(objects()));
      });

      if (overlay === "dev") {
        it("when reading dev, then everything runs one replica and NATS is a single node", function () {
          for (const w of [...byKind(objects(), "Deployment"), ...byKind(objects(), "StatefulSet")]) {
            expect(w.spec.replicas ?? 1, `${w.kind} ${w.metadata.name}`).to.equal(1);
          }
          expect(byKind(objects(), "HorizontalPodAutoscaler")).to.have.length(0);
          const natsConf = byKind(objects(), "ConfigMap").find((c) => c.metadata.name.startsWith("nats-config"));
          expect(natsConf.data["nats.conf"]).to.not.match(/cluster\s*\{/);
        });
      } else {
        it("when reading prod, then every service has an HPA of 2+ replicas and a PDB", function () {
          const hpas = byKind(objects(), "HorizontalPodAutoscaler");
          const pdbs = byKind(objects(), "PodDisruptionBudget");
          for (const d of byKind(objects(), "Deployment")) {
            const hpa = hpas.find((h) => h.spec.scaleTargetRef.kind === "Deployment" && h.spec.scaleTargetRef.name === d.metadata.name);
            expect(hpa?.spec.minReplicas, `HPA of ${d.metadata.name}`).to.be.at.least(2);
            expect(d.spec.replicas, `${d.metadata.name} leaves replicas to its HPA`).to.equal(undefined);
            const labels = d.spec.template.metadata.labels;
            expect(pdbs.filter((p) => selects(p.spec.selector, labels)), `PDB of ${d.metadata.name}`).to.have.length(1);
          }
        });

        it("when reading prod, then NATS is a 3-node JetStream cluster with routes, volumes and a PDB", function () {
          const nats = byKind(objects(), "StatefulSet").find((s) => s.metadata.name === "nats");
          expect(nats.spec.replicas).to.equal(3);
          expect(nats.spec.volumeClaimTemplates[0].spec.resources.requests.storage).to.not.equal(undefined);
          const headless = byKind(objects(), "Service").find((s) => s.metadata.name === nats.spec.serviceName);
          expect(headless.spec.clusterIP).to.equal("None");
          const conf: string = byKind(objects(), "ConfigMap").find((c) => c.metadata.name.startsWith("nats-config")).data["nats.conf"];
          expect(conf).to.match(/jetstream\s*\{/);
          for (const i of [0, 1, 2]) expect(conf).to.include(`nats-route://nats-${i}.${nats.spec.serviceName}:6222`);
          const common = byKind(objects(), "ConfigMap").find((c) => c.metadata.name.startsWith("meridian-common"));
          expect(common.data.JETSTREAM_REPLICAS, "streams and KV buckets on every node").to.equal("3");
          const pdb = byKind(objects(), "PodDisruptionBudget").find((p) => selects(p.spec.selector, nats.spec.template.metadata.labels));
          expect(pdb.spec.maxUnavailable).to.equal(1);
        });

        it("when reading prod images, then every one has a pinned tag, never latest", function () {
          for (const w of [...byKind(objects(), "Deployment"), ...byKind(objects(), "StatefulSet"), ...byKind(objects(), "Job")]) {
            const spec = podSpec(w);
            for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
              expect(c.image, `${w.metadata.name} ${c.name}`).to.match(/(:[\w][\w.-]*|@sha256:[a-f0-9]{64})$/);
              expect(c.image, `${w.metadata.name} ${c.name}`).to.not.match(/:latest$/);
            }
          }
        });

        it("when reading prod, then the ingress has TLS", function () {
          for (const i of byKind(objects(), "Ingress")) expect(i.spec.tls?.[0]?.secretName, i.metadata.name).to.be.a("string");
        });
      }
    });
  }

  describe("secret templates", function () {
    const dir = join(k8s, "secrets");
    const kustomization = YAML.parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Any;

    it("when reading the templates, then every value is a placeholder or not secret, and real files are ignored by git", function () {
      const ignore = readFileSync(join(dir, ".gitignore"), "utf8");
      expect(ignore).to.match(/^\*$/m);
      const notSecret = /^(JWT_PREVIOUS_KEYS|ADMIN_USERNAME|ADMIN_EMAIL)$/;
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".env.example"))) {
        for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
          if (!line.trim() || line.startsWith("#")) continue;
          const [key, ...rest] = line.split("=");
          if (notSecret.test(key!)) continue;
          expect(rest.join("="), `${file} ${key}`).to.include("CHANGE_ME");
        }
      }
      expect(readFileSync(join(dir, "jwt-private-key.pem.example"), "utf8")).to.include("CHANGE_ME");
    });

    it("when the templates are filled in, then the Secrets every workload refers to are generated", function () {
      const generated = new Map<string, Set<string>>();
      for (const gen of kustomization.secretGenerator as Any[]) {
        const keys = new Set<string>();
        for (const env of gen.envs ?? []) {
          for (const line of readFileSync(join(dir, `${env}.example`), "utf8").split("\n")) {
            if (line.trim() && !line.startsWith("#")) keys.add(line.split("=")[0]!);
          }
        }
        for (const file of gen.files ?? []) keys.add(String(file).split("=")[0]!);
        generated.set(gen.name, keys);
      }
      const objects = renderKustomization(join(k8s, "base"));
      for (const w of [...byKind(objects, "Deployment"), ...byKind(objects, "StatefulSet"), ...byKind(objects, "Job")]) {
        const spec = podSpec(w);
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (ref) expect(generated.get(ref.name)?.has(ref.key), `${w.metadata.name}: ${ref.name}/${ref.key}`).to.equal(true);
          }
          for (const from of c.envFrom ?? []) {
            if (from.secretRef && !from.secretRef.optional) expect(generated.has(from.secretRef.name), from.secretRef.name).to.equal(true);
          }
        }
        for (const v of spec.volumes ?? []) {
          if (v.secret) for (const item of v.secret.items ?? []) expect(generated.get(v.secret.secretName)?.has(item.key)).to.equal(true);
        }
      }
      for (const [name, keys] of generated) {
        const service = name.replace(/-secrets$/, "");
        if (!services.includes(service)) continue;
        const known = serviceSettings(service);
        for (const key of keys) expect(known.has(key), `${name}: ${service} does not read ${key}`).to.equal(true);
      }
    });

    it("when kubectl builds the filled-in templates, then only valid Secrets come out", async function () {
      if (!kubectlAvailable()) this.skip();
      const { mkdtempSync, copyFileSync, rmSync } = await import("node:fs");
      const { tmpdir } = await import("node:os");
      const tmp = mkdtempSync(join(tmpdir(), "meridian-secrets-"));
      try {
        copyFileSync(join(dir, "kustomization.yaml"), join(tmp, "kustomization.yaml"));
        for (const f of readdirSync(dir).filter((f) => f.endsWith(".example"))) copyFileSync(join(dir, f), join(tmp, f.replace(/\.example$/, "")));
        const secrets = kubectlKustomize(tmp);
        expect(secrets.map((s) => s.kind)).to.deep.equal(secrets.map(() => "Secret"));
        for (const s of secrets) await validateAgainstSchema(s);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });

  it("when reading .env.example, then it lists every setting of every service", function () {
    const listed = new Set(
      readFileSync(join(repoRoot, ".env.example"), "utf8")
        .split("\n")
        .map((line) => /^(?:# ?)?([A-Z][A-Z0-9_]+)=/.exec(line)?.[1])
        .filter(Boolean),
    );
    for (const service of services) {
      for (const key of serviceSettings(service)) expect(listed.has(key), `.env.example lacks ${service}'s ${key}`).to.equal(true);
    }
  });

  it("when reading deploy/compose.yaml, then it runs NATS with JetStream, Redis, PostgreSQL, migrate and every service", function () {
    const compose = YAML.parse(readFileSync(join(repoRoot, "deploy/compose.yaml"), "utf8"), { merge: true }) as Any;
    expect(Object.keys(compose.services)).to.include.members(["nats", "redis", "postgres", "migrate", ...services]);
    expect(compose.services.nats.command).to.include("-js");
    expect(compose.services.nats.command).to.include("/run/secrets/nats_server_auth");
    for (const name of services) expect(compose.services[name].environment.NATS_CREDS, `${name} NATS_CREDS`).to.match(/^\/run\/secrets\/.+_nats_creds$/);
    for (const name of services) {
      expect(compose.services[name].depends_on.migrate.condition).to.equal("service_completed_successfully");
    }
    expect(compose.services.realtime.environment.HOST, "realtime must be reachable from the gateway container").to.equal("0.0.0.0");
  });
});
