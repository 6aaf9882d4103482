import winston from "winston";
import Transport from "winston-transport";
import { currentContext } from "./context.js";

export type Logger = winston.Logger;

const SECRET_KEYS = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|private/i;

/** Replace the values of secret-looking keys, at any depth, before a line is written. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

const withContext = winston.format((info) => {
  const ctx = currentContext();
  if (ctx) {
    info.correlation_id ??= ctx.correlationId;
    if (ctx.subject && info.subject === undefined) info.subject = ctx.subject;
  }
  for (const key of Object.keys(info)) {
    if (key !== "level" && key !== "message") info[key] = SECRET_KEYS.test(key) ? "[redacted]" : redact(info[key]);
  }
  return info;
});

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Extra destinations (tests capture lines here). Console JSON is always on unless `silent`. */
  transports?: Transport[];
  silent?: boolean;
}

/** The one logger factory: JSON lines with time, level, service and the current correlation id. */
export function createLogger(options: LoggerOptions): Logger {
  const transports: Transport[] = [...(options.transports ?? [])];
  // A silent console keeps winston from warning about a logger with nowhere to write.
  transports.push(new winston.transports.Console({ silent: Boolean(options.silent) }));
  return winston.createLogger({
    level: options.level ?? "info",
    defaultMeta: { service: options.service },
    format: winston.format.combine(withContext(), winston.format.timestamp(), winston.format.json()),
    transports,
  });
}

/** Keeps every log line in memory; for tests that assert what a service logged. */
export class MemoryTransport extends Transport {
  readonly lines: Array<Record<string, unknown>> = [];
  override log(info: Record<string, unknown>, next: () => void): void {
    this.lines.push({ ...info });
    next();
  }
}

/** The logger of one service, from its config and the caller's options. */
export function serviceLogger(service: string, level: string, options: { logTransports?: Transport[]; silentLogs?: boolean } = {}): Logger {
  return createLogger({
    service,
    level,
    ...(options.logTransports ? { transports: options.logTransports } : {}),
    ...(options.silentLogs ? { silent: true } : {}),
  });
}
