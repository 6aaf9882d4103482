// Loading the Kubernetes manifests of k8s/ offline: `kubectl kustomize` when kubectl is installed, and a small
// kustomize-free renderer (resources, namespace, labels, images, configMapGenerator, patches) that runs anywhere
// npm does. The renderer covers what k8s/ uses, no more; generated names carry no hash suffix.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import YAML from "yaml";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

type Json = Record<string, unknown>;

export const repoRoot = new URL("../../../", import.meta.url).pathname;

export function parseYamlDocuments(text: string): K8sObject[] {
  return YAML.parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === "object");
}

export function kubectlAvailable(): boolean {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function kubectlKustomize(dir: string): K8sObject[] {
  return parseYamlDocuments(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 32 << 20 }));
}

const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"]);

interface Kustomization {
  namespace?: string;
  resources?: string[];
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }>;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  configMapGenerator?: Array<{ name: string; behavior?: "create" | "merge" | "replace"; literals?: string[]; files?: string[]; envs?: string[] }>;
  patches?: Array<{ path?: string; patch?: string; target?: { kind?: string; name?: string } }>;
}

function configMapData(dir: string, gen: NonNullable<Kustomization["configMapGenerator"]>[number]): Record<string, string> {
  const data: Record<string, string> = {};
  for (const literal of gen.literals ?? []) {
    const at = literal.indexOf("=");
    data[literal.slice(0, at)] = literal.slice(at + 1);
  }
  for (const file of gen.files ?? []) {
    const [key, path] = file.includes("=") ? (file.split("=", 2) as [string, string]) : [basename(file), file];
    data[key] = readFileSync(join(dir, path), "utf8");
  }
  for (const env of gen.envs ?? []) {
    for (const line of readFileSync(join(dir, env), "utf8").split("\n")) {
      if (!line.trim() || line.trimStart().startsWith("#")) continue;
      const at = line.indexOf("=");
      data[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return data;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function itemKey(item: unknown): string | undefined {
  if (!isObject(item)) return undefined;
  if (typeof item.name === "string") return item.name;
  const meta = item.metadata;
  return isObject(meta) && typeof meta.name === "string" ? meta.name : undefined;
}

/** Strategic merge as far as k8s/ needs it: maps merge, lists of named items merge by name, other lists replace. */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (isObject(target) && isObject(patch)) {
    const out: Json = { ...target };
    for (const [k, v] of Object.entries(patch)) out[k] = k in target ? strategicMerge(target[k], v) : v;
    return out;
  }
  if (Array.isArray(target) && Array.isArray(patch) && patch.every((p) => itemKey(p) !== undefined)) {
    const out = [...target];
    for (const p of patch) {
      const at = out.findIndex((t) => itemKey(t) === itemKey(p));
      if (at >= 0) out[at] = strategicMerge(out[at], p);
      else out.push(p);
    }
    return out;
  }
  return patch;
}

function jsonPatch(target: K8sObject, ops: Array<{ op: string; path: string; value?: unknown }>): void {
  for (const { op, path, value } of ops) {
    const parts = path.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = parts.pop()!;
    let node: unknown = target;
    for (const part of parts) node = (node as Json)[part];
    if (op !== "add" && op !== "replace") throw new Error(`unsupported JSON patch op ${op}`);
    if (Array.isArray(node)) node.splice(last === "-" ? node.length : Number(last), op === "replace" ? 1 : 0, value);
    else (node as Json)[last] = value;
  }
}

function setImages(node: unknown, images: NonNullable<Kustomization["images"]>): void {
  if (Array.isArray(node)) node.forEach((n) => setImages(n, images));
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if ((k === "containers" || k === "initContainers") && Array.isArray(v)) {
        for (const c of v as Json[]) {
          const image = String(c.image);
          const name = image.replace(/[:@].*$/, "");
          const rule = images.find((i) => i.name === name);
          if (!rule) continue;
          const tag = rule.digest ? `@${rule.digest}` : rule.newTag ? `:${rule.newTag}` : image.slice(name.length);
          c.image = `${rule.newName ?? name}${tag}`;
        }
      } else setImages(v, images);
    }
  }
}

/** Render a kustomization directory without kustomize. */
export function renderKustomization(dir: string): K8sObject[] {
  const k = YAML.parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Kustomization;
  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : parseYamlDocuments(readFileSync(path, "utf8"))));
  }
  for (const gen of k.configMapGenerator ?? []) {
    const data = configMapData(dir, gen);
    const existing = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === gen.name);
    if (gen.behavior === "merge" || gen.behavior === "replace") {
      if (!existing) throw new Error(`configMapGenerator ${gen.name}: nothing to ${gen.behavior}`);
      existing.data = gen.behavior === "merge" ? { ...(existing.data as Json), ...data } : data;
    } else objects.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: gen.name }, data });
  }
  for (const p of k.patches ?? []) {
    const text = p.patch ?? readFileSync(join(dir, p.path!), "utf8");
    const docs = YAML.parseAllDocuments(text).map((d) => d.toJS() as unknown);
    if (Array.isArray(docs[0])) {
      const targets = objects.filter((o) => (!p.target?.kind || o.kind === p.target.kind) && (!p.target?.name || o.metadata.name === p.target.name));
      for (const t of targets) jsonPatch(t, docs[0] as Array<{ op: string; path: string; value?: unknown }>);
    } else {
      for (const doc of docs as K8sObject[]) {
        const at = objects.findIndex((o) => o.kind === doc.kind && o.metadata.name === doc.metadata.name);
        if (at < 0) throw new Error(`patch ${p.path}: no ${doc.kind} ${doc.metadata.name}`);
        objects[at] = strategicMerge(objects[at], doc) as K8sObject;
      }
    }
  }
  if (k.images) setImages(objects, k.images);
  for (const { pairs, includeTemplates } of k.labels ?? []) {
    for (const o of objects) {
      o.metadata.labels = { ...o.metadata.labels, ...pairs };
      const template = isObject(o.spec) && isObject(o.spec.template) ? (o.spec.template as Json) : undefined;
      if (includeTemplates && template) {
        const meta = (template.metadata ?? {}) as Json;
        template.metadata = { ...meta, labels: { ...(meta.labels as Json), ...pairs } };
      }
    }
  }
  if (k.namespace) for (const o of objects) if (!clusterScoped.has(o.kind)) o.metadata.namespace = k.namespace;
  objects = objects.map((o) => structuredClone(o));
  return objects;
}

/** The object's model class from kubernetes-models, whose validate() checks it against the API's OpenAPI schema. */
export async function validateAgainstSchema(o: K8sObject): Promise<void> {
  const modulePath = `kubernetes-models/${o.apiVersion}/${o.kind}`;
  const mod = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  // kustomize folds long base64 values over several lines; the API server reads them either way.
  const data = o.kind === "Secret" && isObject(o.data) ? Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, String(v).replace(/\s/g, "")])) : undefined;
  new Model(data ? { ...o, data } : o).validate();
}

/** The setting names a service reads: keys of its joi schema (and the service kit's shared ones) plus env reads. */
export function serviceSettings(service: string): Set<string> {
  const files = [join(repoRoot, "services", service, "src/config.ts"), join(repoRoot, "libs/service-kit/src/config.ts")];
  const keys = new Set<string>(["METRICS_PORT"]);
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]+):\s*(?:Joi|JoiEnv|databaseConfig|commonConfig)\b/gm)) keys.add(m[1]!);
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) keys.add(m[1]!);
  }
  const usesDb = readFileSync(files[0]!, "utf8").includes("...databaseConfig");
  if (!usesDb) {
    keys.delete("DATABASE_URL");
    keys.delete("DB_POOL_SIZE");
  }
  return keys;
}

export function exists(path: string): boolean {
  return existsSync(path);
}

export { dirname, join };
