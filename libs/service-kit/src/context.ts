import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

/** What every log line of one request or task carries, without passing it through every call. */
export interface RequestContext {
  correlationId: string;
  subject?: string;
  [key: string]: unknown;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

const SANE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keep a caller's correlation id only when it is harmless in logs and headers; otherwise mint one. */
export function saneCorrelationId(candidate: unknown): string {
  return typeof candidate === "string" && SANE_CORRELATION_ID.test(candidate) ? candidate : randomUUID();
}
