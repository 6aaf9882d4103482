import type { Migration } from "@meridian/service-kit";
import * as tasks from "./2026-11-23T1300-tasks.js";
import * as taskEventOutbox from "./2026-11-23T1400-task-event-outbox.js";

export const migrations: Record<string, Migration> = {
  "2026-11-23T1300-tasks": tasks,
  "2026-11-23T1400-task-event-outbox": taskEventOutbox,
};

export const SCHEMA = "executor";
