export * from "./subjects.js";
export * from "./headers.js";
export * from "./roles.js";
export * from "./errors.js";
export * from "./health.js";
export * from "./schemas/common.js";
export * from "./schemas/auth.js";
export * from "./schemas/agents.js";
