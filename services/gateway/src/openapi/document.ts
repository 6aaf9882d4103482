import { STATUS_CODES } from "node:http";
import swaggerJsdoc from "swagger-jsdoc";
import { ErrorCodes, type ErrorCode } from "@meridian/contracts";
import { rateLimitClassOf } from "../middleware/rate-limit.js";
import type { RouteSpec } from "../routes/route-table.js";
import { joiToOpenApi, joiToParameters, type OpenApiSchema } from "./joi-to-openapi.js";

/** Routes the gateway answers itself; documented with JSDoc-style specs beside the table's. */
export interface LocalRouteDoc {
  method: "get";
  path: string;
  tag: string;
  summary: string;
  description: string;
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
}

const errorRef = { $ref: "#/components/schemas/ErrorEnvelope" };

function errorResponses(route: RouteSpec): Record<string, unknown> {
  const codes = new Set<ErrorCode>([...route.errors, "INTERNAL", "SERVICE_UNAVAILABLE", "TIMEOUT", "RATE_LIMITED"]);
  if (route.body || route.query || route.params) codes.add("VALIDATION_FAILED");
  if (route.body) codes.add("BAD_REQUEST").add("PAYLOAD_TOO_LARGE").add("UNSUPPORTED_MEDIA_TYPE");
  if (route.auth === "required") codes.add("UNAUTHENTICATED").add("INVALID_TOKEN").add("TOKEN_REVOKED");
  if (route.roles || route.scope) codes.add("FORBIDDEN");
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ErrorCodes[code].status, [...(byStatus.get(ErrorCodes[code].status) ?? []), code]);
  const out: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: `${STATUS_CODES[status]}: ${list.join(", ")}`,
      ...(status === 429 ? { headers: { "Retry-After": { schema: { type: "integer" } } } } : {}),
      content: { "application/json": { schema: errorRef, example: { error: STATUS_CODES[status], code: list[0], detail: "…", correlation_id: "5f0c…" } } },
    };
  }
  return out;
}

function operation(route: RouteSpec): Record<string, unknown> {
  const parameters = [
    ...(route.params ? joiToParameters(route.params, "path") : []),
    ...(route.query ? joiToParameters(route.query, "query") : []),
    ...(route.headers
      ? joiToParameters(route.headers.schema, "header").map((p) => ({
          ...p,
          name: Object.entries(route.headers!.map).find(([, field]) => field === p.name)?.[0] ?? p.name,
        }))
      : []),
  ];
  const success: Record<string, unknown> = { description: route.success.description };
  if (route.success.schema) {
    const schema = joiToOpenApi(route.success.schema);
    success.content = { "application/json": { schema, ...(schema.example ? { example: schema.example } : {}) } };
  }
  const op: Record<string, unknown> = {
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
    tags: [route.tag],
    summary: route.summary,
    description: [
      route.description,
      route.scope ? `Requires scope \`${route.scope}\`.` : "",
      route.roles ? `Requires role: ${route.roles.join(" or ")}.` : "",
      `Rate-limit class: \`${rateLimitClassOf(route.rateLimit, route.method)}\`. Forwarded to \`${route.subject}\`.`,
    ]
      .filter(Boolean)
      .join("\n\n"),
    responses: {
      [String(route.success.status)]: success,
      ...(route.alsoSuccess ? { [String(route.alsoSuccess.status)]: { ...success, description: route.alsoSuccess.description } } : {}),
      ...errorResponses(route),
    },
  };
  if (parameters.length) op.parameters = parameters;
  if (route.body) {
    const schema: OpenApiSchema = joiToOpenApi(route.body);
    op.requestBody = { required: true, content: { "application/json": { schema, ...(schema.example ? { example: schema.example } : {}) } } };
  }
  op.security = route.auth === "required" ? [{ bearerAuth: [] }, { apiKey: [] }] : [];
  return op;
}

export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** The OpenAPI 3 document, assembled by swagger-jsdoc from the route table and the local routes. */
export function buildOpenApiDocument(opts: { version: string; serverUrl: string; routes: RouteSpec[]; local: LocalRouteDoc[] }): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of opts.routes) (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route);
  for (const doc of opts.local) {
    (paths[doc.path] ??= {})[doc.method] = { tags: [doc.tag], summary: doc.summary, description: doc.description, responses: doc.responses, security: [] };
  }
  return swaggerJsdoc({
    failOnErrors: true,
    apis: [],
    definition: {
      openapi: "3.0.3",
      info: {
        title: "Meridian API",
        version: opts.version,
        description:
          "The REST edge of Meridian. Every error is `{ error, code, detail, correlation_id }`; send `X-Correlation-ID` to trace a call across services. Rate limits are reported in `RateLimit` and `X-RateLimit-*` headers.",
      },
      servers: [{ url: opts.serverUrl }],
      tags: [
        { name: "auth", description: "Accounts, sessions and tokens" },
        { name: "api-keys", description: "Keys for scripts and agents" },
        { name: "agents", description: "The agent registry: definitions, runtimes and limits" },
        { name: "tasks", description: "Running agents: the task queue, results, logs, cancellation" },
        { name: "analytics", description: "Figures of the task history: dashboard, per agent, time series, export" },
        { name: "users", description: "Account administration (admins)" },
        { name: "system", description: "Health and discovery" },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        },
        schemas: {
          ErrorEnvelope: {
            type: "object",
            required: ["error", "code", "detail", "correlation_id"],
            properties: {
              error: { type: "string", description: "HTTP status title", example: "Unprocessable Entity" },
              code: { type: "string", enum: Object.keys(ErrorCodes) },
              detail: {
                description: "A message, or the list of problems for validation failures",
                oneOf: [
                  { type: "string" },
                  { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
                ],
              },
              correlation_id: { type: "string" },
              retry_after: { type: "integer", description: "Seconds to wait (429 only)" },
            },
          },
        },
      },
      paths,
    },
  });
}
