import { expect } from "chai";
import Joi from "joi";
import { joiToOpenApi, joiToParameters } from "../src/openapi/joi-to-openapi.js";
import { openApiPath } from "../src/openapi/document.js";

describe("gateway: joi to OpenAPI", () => {
  it("when an object schema is converted, then types, limits, formats, enums, defaults and required carry over", () => {
    const schema = Joi.object({
      name: Joi.string().pattern(/^[a-z]+$/).min(1).max(64).required(),
      email: Joi.string().email(),
      count: Joi.number().integer().min(1).max(10).default(3),
      kind: Joi.string().valid("a", "b"),
      tags: Joi.array().items(Joi.string()).unique(),
      note: Joi.string().allow(null).description("free text"),
    }).example({ name: "x" });
    expect(joiToOpenApi(schema)).to.deep.equal({
      type: "object",
      properties: {
        name: { type: "string", minLength: 1, maxLength: 64, pattern: "^[a-z]+$" },
        email: { type: "string", format: "email" },
        count: { type: "integer", minimum: 1, maximum: 10, default: 3 },
        kind: { type: "string", enum: ["a", "b"] },
        tags: { type: "array", items: { type: "string" }, uniqueItems: true },
        note: { type: "string", nullable: true, description: "free text" },
      },
      additionalProperties: false,
      required: ["name"],
      example: { name: "x" },
    });
  });

  it("when params are converted, then path parameters are required and named as in the path", () => {
    const params = joiToParameters(Joi.object({ id: Joi.string().guid() }), "path");
    expect(params).to.deep.equal([{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }]);
    expect(openApiPath("/api/v1/tasks/:id/logs")).to.equal("/api/v1/tasks/{id}/logs");
  });
});
