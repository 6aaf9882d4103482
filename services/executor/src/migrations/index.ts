import type { Migration } from "@meridian/service-kit";
import * as tasks from "./2026-11-23T1300-tasks.js";

export const migrations: Record<string, Migration> = {
  "2026-11-23T1300-tasks": tasks,
};

export const SCHEMA = "executor";
