export { repoRoot, runScript, ServiceProcess, type LogLine } from "@meridian/service-kit/testing";
