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
    const res = await http<{ paths: Record<string, Record<string, { summary?: string; description?: string; responses: Record<string, unknown> }>> }>(stack.gatewayUrl, "GET", "/api/openapi.json");
    const served = [
      "post /api/v1/auth/register",
      "post /api/v1/auth/login",
      "post /api/v1/auth/refresh",
      "post /api/v1/auth/logout",
      "get /api/v1/auth/me",
      "post /api/v1/auth/api-keys",
      "get /api/v1/auth/api-keys",
      "delete /api/v1/auth/api-keys/{id}",
      "get /",
      "get /health",
      "get /health/ready",
      "get /api/openapi.json",
      "get /api/docs",
    ];
    const documented = Object.entries(res.body.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m} ${path}`));
    expect(documented).to.have.members(served);
    const register = res.body.paths["/api/v1/auth/register"]!.post!;
    expect(register.summary).to.be.a("string");
    expect(Object.keys(register.responses)).to.include.members(["201", "409", "422", "429", "500", "503", "504"]);
    const me = res.body.paths["/api/v1/auth/me"]!.get!;
    expect(Object.keys(me.responses)).to.include.members(["200", "401", "403"]);
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
