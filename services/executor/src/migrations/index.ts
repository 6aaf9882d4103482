import type { Migration } from "@meridian/service-kit";
import * as tasks from "./2026-11-23T1300-tasks.js";
import * as taskEventOutbox from "./2026-11-23T1400-task-event-outbox.js";
import * as agentIdentity from "./2026-12-03T1000-agent-identity.js";
import * as analytics from "./2026-12-03T1100-analytics.js";
import * as coarseRollups from "./2026-12-03T2200-coarse-rollups.js";

export const migrations: Record<string, Migration> = {
  "2026-11-23T1300-tasks": tasks,
  "2026-11-23T1400-task-event-outbox": taskEventOutbox,
  "2026-12-03T1000-agent-identity": agentIdentity,
  "2026-12-03T1100-analytics": analytics,
  "2026-12-03T2200-coarse-rollups": coarseRollups,
};

export const SCHEMA = "executor";
