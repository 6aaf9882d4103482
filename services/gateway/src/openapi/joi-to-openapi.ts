import type Joi from "joi";

/** An OpenAPI 3.0 schema object (the subset the converter produces). */
export type OpenApiSchema = Record<string, unknown>;

interface Description {
  type?: string;
  flags?: { presence?: string; default?: unknown; description?: string; only?: boolean };
  rules?: Array<{ name: string; args?: Record<string, unknown> }>;
  allow?: unknown[];
  keys?: Record<string, Description>;
  items?: Description[];
  examples?: unknown[];
  dependencies?: Array<{ rel: string; peers: string[] }>;
  matches?: Array<{ schema?: Description; then?: Description; otherwise?: Description }>;
  whens?: Array<{ then?: Description; otherwise?: Description }>;
}

const FORMATS: Record<string, string> = { email: "email", guid: "uuid", isoDate: "date-time", uri: "uri" };

function regexSource(arg: unknown): string {
  const text = String((arg as { regex?: unknown })?.regex ?? arg);
  const m = /^\/(.*)\/[a-z]*$/.exec(text);
  return m ? (m[1] ?? text) : text;
}

function convert(d: Description): OpenApiSchema {
  const out: OpenApiSchema = {};
  const nullable = d.allow?.includes(null);
  const values = (d.allow ?? []).filter((v) => v !== null);
  switch (d.type) {
    case "object": {
      out.type = "object";
      const properties: Record<string, OpenApiSchema> = {};
      const required: string[] = [];
      for (const [name, child] of Object.entries(d.keys ?? {})) {
        properties[name] = convert(child);
        if (child.flags?.presence === "required") required.push(name);
      }
      if (d.keys) {
        out.properties = properties;
        out.additionalProperties = false;
      }
      if (required.length) out.required = required;
      const xor = d.dependencies?.find((dep) => dep.rel === "xor");
      if (xor) out.description = `Exactly one of: ${xor.peers.join(", ")}.`;
      break;
    }
    case "array":
      out.type = "array";
      out.items = d.items?.[0] ? convert(d.items[0]) : {};
      break;
    case "number":
      out.type = d.rules?.some((r) => r.name === "integer") ? "integer" : "number";
      break;
    case "boolean":
    case "string":
      out.type = d.type;
      break;
    case "alternatives": {
      const options = (d.matches ?? []).flatMap((m) => [m.schema, m.then, m.otherwise]).filter(Boolean) as Description[];
      out.oneOf = options.map(convert);
      break;
    }
    default:
      break;
  }
  for (const rule of d.rules ?? []) {
    const limit = rule.args?.limit;
    if (rule.name === "min") out[d.type === "string" ? "minLength" : d.type === "array" ? "minItems" : "minimum"] = limit;
    if (rule.name === "max") out[d.type === "string" ? "maxLength" : d.type === "array" ? "maxItems" : "maximum"] = limit;
    if (rule.name === "pattern") out.pattern = regexSource(rule.args?.regex);
    if (rule.name === "unique") out.uniqueItems = true;
    if (FORMATS[rule.name]) out.format = FORMATS[rule.name];
  }
  if (d.flags?.only && values.length) out.enum = values;
  if (nullable) out.nullable = true;
  if (d.flags?.default !== undefined && typeof d.flags.default !== "function") out.default = d.flags.default;
  if (d.flags?.description) out.description = d.flags.description;
  if (d.examples?.length) out.example = d.examples[0];
  return out;
}

export function joiToOpenApi(schema: Joi.Schema): OpenApiSchema {
  return convert(schema.describe() as Description);
}

/** Query or path parameters from an object schema, one per key. */
export function joiToParameters(schema: Joi.Schema, location: "query" | "path" | "header"): OpenApiSchema[] {
  const d = schema.describe() as Description;
  return Object.entries(d.keys ?? {}).map(([name, child]) => ({
    name,
    in: location,
    required: location === "path" || child.flags?.presence === "required",
    schema: convert(child),
    ...(child.flags?.description ? { description: child.flags.description } : {}),
  }));
}
