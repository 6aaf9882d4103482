import { expect } from "chai";
import SwaggerParser from "@apidevtools/swagger-parser";
import { http } from "../support/http.js";
import { Stack } from "../support/stack.js";

const METHODS = ["get", "post", "patch", "put", "delete"];

describe("e2e: OpenAPI document", function () {
  const stack = new Stack();
  before(() => stack.start({ auth: false }));
  after(() => stack.stop());

  it("when /api/openapi.json is fetched, then it is a valid OpenAPI 3 document", async () => {
    const res = await http(stack.gatewayUrl, "GET", "/api/openapi.json");
    expect(res.status).to.equal(200);
    const api = (await SwaggerParser.validate(structuredClone(res.body) as never)) as { openapi: string };
    expect(api.openapi).to.match(/^3\./);
  });

  it("when the document is read, then every route the gateway serves is in it, with its responses", async () => {
    type Operation = { summary?: string; description?: string; tags?: string[]; parameters?: Array<{ in: string; name: string }>; responses: Record<string, unknown> };
    const res = await http<{ paths: Record<string, Record<string, Operation>>; tags: Array<{ name: string }> }>(stack.gatewayUrl, "GET", "/api/openapi.json");
    const served = [
      "post /api/v1/auth/register",
      "post /api/v1/auth/login",
      "post /api/v1/auth/refresh",
      "post /api/v1/auth/logout",
      "get /api/v1/auth/me",
      "post /api/v1/auth/api-keys",
      "get /api/v1/auth/api-keys",
      "delete /api/v1/auth/api-keys/{id}",
      "get /api/v1/agents",
      "post /api/v1/agents",
      "get /api/v1/agents/{name}",
      "patch /api/v1/agents/{name}",
      "delete /api/v1/agents/{name}",
      "post /api/v1/agents/{name}/worker-credentials",
      "get /",
      "get /api/v1",
      "get /health",
      "get /health/ready",
      "get /api/openapi.json",
      "get /api/docs",
      "get /api/events",
      "post /api/v1/tasks",
      "post /api/v1/tasks/batch",
      "get /api/v1/tasks",
      "get /api/v1/tasks/{id}",
      "post /api/v1/tasks/{id}/cancel",
      "get /api/v1/tasks/{id}/logs",
      "post /api/v1/tasks/{id}/requeue",
      "post /api/v1/agents/{agent}/execute",
      "get /api/v1/analytics/dashboard",
      "get /api/v1/analytics/agents/{agent}",
      "get /api/v1/analytics/timeseries/{metric}",
      "get /api/v1/analytics/export",
      "get /api/v1/users",
      "patch /api/v1/users/{id}",
      "get /api/v1/users/{id}",
      "delete /api/v1/users/{id}",
      "delete /api/v1/auth/me",
      "post /api/v1/auth/logout-all",
    ];
    const documented = Object.entries(res.body.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m} ${path}`));
    expect(documented).to.have.members(served);
    const index = await http<{ resources: Record<string, string> }>(stack.gatewayUrl, "GET", "/api/v1");
    expect(index.status).to.equal(200);
    expect(index.body.resources.tasks).to.equal("/api/v1/tasks");
    expect(res.body.tags.map((t) => t.name)).to.include("agents");
    const register = res.body.paths["/api/v1/auth/register"]!.post!;
    expect(register.summary).to.be.a("string");
    expect(Object.keys(register.responses)).to.include.members(["201", "409", "422", "429", "500", "503", "504"]);
    const me = res.body.paths["/api/v1/auth/me"]!.get!;
    expect(Object.keys(me.responses)).to.include.members(["200", "401", "403"]);
    const patchAgent = res.body.paths["/api/v1/agents/{name}"]!.patch!;
    expect(patchAgent.tags).to.deep.equal(["agents"]);
    expect(Object.keys(patchAgent.responses)).to.include.members(["200", "401", "403", "404", "422"]);
    expect(patchAgent.parameters?.map((p) => `${p.in} ${p.name}`)).to.deep.equal(["path name"]);
    const listAgents = res.body.paths["/api/v1/agents"]!.get!;
    expect(listAgents.parameters?.map((p) => p.name)).to.have.members(["runtime", "owner", "enabled", "q", "limit", "offset"]);
    expect(Object.keys(res.body.paths["/api/v1/agents"]!.post!.responses)).to.include.members(["201", "409", "422"]);
    const deleteUser = res.body.paths["/api/v1/users/{id}"]!.delete!;
    expect(deleteUser.description).to.contain("OWNER_DELETED").and.contain("Finished tasks stay");
    expect(Object.keys(res.body.paths["/api/v1/auth/login"]!.post!.responses)).to.include("429");
  });

  it("when the batch route is read, then it has a request and a response example and its rate-limit cost", async () => {
    type Content = Record<string, { example?: Record<string, unknown[]> }>;
    const res = await http<{ paths: Record<string, Record<string, { description: string; requestBody: { content: Content }; responses: Record<string, { content?: Content }> }>> }>(
      stack.gatewayUrl,
      "GET",
      "/api/openapi.json",
    );
    const batch = res.body.paths["/api/v1/tasks/batch"]!.post!;
    expect(batch.requestBody.content["application/json"]!.example!.tasks).to.have.length.above(1);
    expect(batch.responses["202"]!.content!["application/json"]!.example!.items).to.have.length.above(1);
    expect(Object.keys(batch.responses)).to.include.members(["202", "401", "403", "422", "429"]);
    expect(batch.description).to.contain("tasks:write").and.contain("429");
  });

  it("when a documented route is called with its documented example, then the gateway knows the route", async () => {
    const res = await http<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, { example?: unknown }> } }>> }>(stack.gatewayUrl, "GET", "/api/openapi.json");
    const example = res.body.paths["/api/v1/auth/login"]!.post!.requestBody!.content["application/json"]!.example;
    expect(example).to.deep.equal({ username: "ada", password: "correct-Horse-battery-9" });
    // auth is not running in this suite: a known route reaches NATS and finds no responder.
    expect((await http(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: example })).status).to.equal(503);
  });

  it("when /api/docs is opened, then Swagger UI is served", async () => {
    const res = await http(stack.gatewayUrl, "GET", "/api/docs/");
    expect(res.status).to.equal(200);
    expect(res.text).to.contain("swagger-ui");
  });
});
