import { expect } from "chai";
import Joi from "joi";
import { errors } from "@nats-io/transport-node";
import { ConfigError, fromNatsError, JoiEnv, loadConfig, redact, saneCorrelationId } from "../src/index.js";

describe("service kit: pure parts", () => {
  describe("saneCorrelationId", () => {
    it("when the caller's id is a safe token, then it is kept", () => {
      expect(saneCorrelationId("req-123:abc.DEF_9")).to.equal("req-123:abc.DEF_9");
    });
    it("when it has spaces, markup or is too long, then a UUID replaces it", () => {
      for (const bad of ["a b", "<script>", "x".repeat(129), "", undefined, 42]) {
        expect(saneCorrelationId(bad)).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      }
    });
  });

  describe("redact", () => {
    it("when a value sits under a secret-looking key at any depth, then it is replaced", () => {
      const out = redact({ user: "ada", password: "p", nested: { refresh_token: "t", list: [{ apiKey: "k", ok: 1 }] }, Authorization: "Bearer x" });
      expect(out).to.deep.equal({ user: "ada", password: "[redacted]", nested: { refresh_token: "[redacted]", list: [{ apiKey: "[redacted]", ok: 1 }] }, Authorization: "[redacted]" });
    });
  });

  describe("loadConfig", () => {
    const schema = Joi.object({ PORT: Joi.number().port().default(3000), LIST: JoiEnv.csv().items(Joi.string()).default([]), SECRET: Joi.string().required() });
    it("when values are valid, then they are converted and frozen", () => {
      const config = loadConfig("svc", schema, { PORT: "8080", LIST: "a, b,,c", SECRET: "s" });
      expect(config).to.deep.equal({ PORT: 8080, LIST: ["a", "b", "c"], SECRET: "s" });
      expect(Object.isFrozen(config)).to.equal(true);
    });
    it("when values are bad or missing, then a ConfigError names every one", () => {
      expect(() => loadConfig("svc", schema, { PORT: "99999" })).to.throw(ConfigError, /svc[\s\S]*PORT[\s\S]*SECRET/);
    });
  });

  describe("fromNatsError", () => {
    it("when NATS has no responder or no connection, then 503; on timeout, then 504; otherwise nothing", () => {
      expect(fromNatsError(new errors.NoRespondersError("x"))?.status).to.equal(503);
      expect(fromNatsError(new errors.ClosedConnectionError())?.status).to.equal(503);
      expect(fromNatsError(new errors.TimeoutError())?.status).to.equal(504);
      expect(fromNatsError(new Error("other"))).to.equal(undefined);
    });
    it("when the server refuses the user the subject, then 503 with a plain detail and the server's words kept as the cause", () => {
      const refused = new errors.PermissionViolationError('Permissions Violation for Publish to "meridian.tasks.list"', "publish", "meridian.tasks.list");
      const mapped = fromNatsError(refused);
      expect(mapped?.status).to.equal(503);
      expect(mapped?.message).to.not.include("meridian.tasks.list");
      expect((mapped as Error & { cause?: unknown }).cause).to.equal(refused);
    });
  });
});
