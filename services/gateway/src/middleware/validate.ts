import type { NextFunction, Request, Response } from "express";
import type Joi from "joi";
import { MeridianError, validate, type Problem } from "@meridian/contracts";
import { inputProblem } from "./input-guard.js";

export interface ValidatedInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

/** Refusals never echo what was sent: a message or path longer than this is cut (a key name, an 8 KB header). */
const MAX_ECHO = 80;
const capped = (text: string) => (text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}…` : text);
/** joi quotes the refused value in a failed pattern; the pattern is enough. */
const VALUE_FREE = /^(.*?) with value .* (fails to match .*)$/s;
const unechoed = (p: Problem): Problem => ({ path: capped(p.path), message: capped(p.message.replace(VALUE_FREE, "$1 $2")) });

/**
 * Checks params, query and body against the route's schemas and keeps the converted values in
 * res.locals.input; every problem is reported at once (at most 20, none echoing the value
 * refused), and a NUL or lone surrogate in a path parameter is refused first. A route without a body schema takes no body.
 */
export function validateInput(schemas: {
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.ObjectSchema;
  headers?: { map: Record<string, string>; schema: Joi.ObjectSchema };
}) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const hasBody = Number(req.get("content-length") ?? 0) > 0 || req.get("transfer-encoding") !== undefined;
    if (hasBody && !req.is("application/json")) {
      return next(new MeridianError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"));
    }
    const problems: Problem[] = [];
    const badParam = inputProblem(req.params, 1, "params");
    if (badParam) return next(new MeridianError("VALIDATION_FAILED", "Request validation failed", [badParam]));
    const part = (where: keyof ValidatedInput, schema: Joi.ObjectSchema | undefined, value: unknown) => {
      if (!schema) {
        const given = value && typeof value === "object" ? Object.keys(value) : [];
        for (const key of where === "params" ? [] : given) problems.push({ path: `${where}.${key}`, message: `'${key}' is not allowed` });
        return {};
      }
      const result = validate(schema, value ?? {});
      for (const p of result.problems ?? []) problems.push({ path: `${where}.${p.path}`, message: p.message });
      return result.value as Record<string, unknown>;
    };
    const input: ValidatedInput = {
      params: part("params", schemas.params, req.params),
      query: part("query", schemas.query, req.query),
      body: part("body", schemas.body, req.body),
      headers: {},
    };
    if (schemas.headers) {
      const given: Record<string, unknown> = {};
      for (const [header, field] of Object.entries(schemas.headers.map)) {
        const value = req.get(header);
        if (value !== undefined) given[field] = value;
      }
      const result = validate(schemas.headers.schema, given);
      for (const p of result.problems ?? []) problems.push({ path: `headers.${p.path}`, message: p.message });
      input.headers = result.value as Record<string, unknown>;
    }
    if (problems.length) return next(new MeridianError("VALIDATION_FAILED", "Request validation failed", problems.slice(0, 20).map(unechoed)));
    res.locals.input = input;
    next();
  };
}
