export type CheckStatus = "ok" | "fail";
export interface HealthReport {
  service: string;
  version: string;
  status: CheckStatus;
  uptime_s: number;
  checks: Record<string, { status: CheckStatus; detail?: string }>;
}
