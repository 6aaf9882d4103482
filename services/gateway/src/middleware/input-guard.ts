import type { NextFunction, Request, RequestHandler, Response } from "express";
import { MeridianError, type Problem } from "@meridian/contracts";

/** The only encodings a body may come in: gzip is inflated by the JSON parser, its size limit applied after inflation. */
const ACCEPTED_ENCODINGS = new Set(["identity", "gzip"]);

/**
 * Anything else in Content-Encoding (deflate, br, a list, a made-up name) is a 415 before a byte is read.
 * A body that claims gzip and is not is refused by the error handler, also as 415.
 */
export function contentEncodingGuard(): RequestHandler {
  return (req, _res, next) => {
    const encoding = req.headers["content-encoding"];
    if (encoding === undefined || ACCEPTED_ENCODINGS.has(encoding.trim().toLowerCase())) return next();
    next(new MeridianError("UNSUPPORTED_MEDIA_TYPE", "Content-Encoding must be identity or gzip"));
  };
}

/**
 * The first problem in a JSON value that must not cross the edge: nesting deeper than `maxDepth`, a NUL
 * (PostgreSQL text cannot hold one) or a lone UTF-16 surrogate (not encodable as UTF-8), in a value or a key.
 * Walks with its own stack, so no input can overflow the call stack.
 */
export function inputProblem(value: unknown, maxDepth: number, where: string): Problem | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [current, depth] = stack.pop()!;
    if (typeof current === "string") {
      const problem = stringProblem(current);
      if (problem) return { path: where, message: `a string ${problem}` };
    } else if (current !== null && typeof current === "object") {
      if (depth >= maxDepth) return { path: where, message: `is nested deeper than ${maxDepth} levels` };
      for (const [key, item] of Object.entries(current)) {
        const problem = stringProblem(key);
        if (problem) return { path: where, message: `a key ${problem}` };
        stack.push([item, depth + 1]);
      }
    }
  }
  return undefined;
}

/** In a `u` regex a surrogate pair is one code point, so only a lone surrogate matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function stringProblem(text: string): string | undefined {
  if (text.includes("\u0000")) return "contains a NUL character";
  if (LONE_SURROGATE.test(text)) return "contains a lone surrogate";
  return undefined;
}

/** Every `name=value` of a raw query string must be valid percent-encoded UTF-8. */
function queryProblem(url: string): Problem | undefined {
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  for (const pair of url.slice(q + 1).split("&")) {
    try {
      for (const part of pair.split("=")) decodeURIComponent(part.replace(/\+/g, " "));
    } catch {
      return { path: "query", message: "is not valid percent-encoded UTF-8" };
    }
  }
  return undefined;
}

/**
 * After the JSON parser: the body and the query are checked before any route sees them (path parameters
 * are checked by validateInput, once the route has named them). Every refusal is a 422.
 */
export function inputGuard(maxDepth: number): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const problem =
      queryProblem(req.originalUrl) ??
      inputProblem(req.query, maxDepth, "query") ??
      (req.body === undefined ? undefined : inputProblem(req.body, maxDepth, "body"));
    if (problem) return next(new MeridianError("VALIDATION_FAILED", "Request validation failed", [problem]));
    next();
  };
}
