import { expect } from "chai";
import type { AgentAnalytics, AnalyticsFigures, AgentView, SubmitBatchResult, TaskView, Timeseries } from "@meridian/contracts";
import { waitFor } from "@meridian/service-kit/testing";
import { createAgentVia, http, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

/** Analytics through the gateway: figures of one's own tasks (an admin's of everyone's), series, a streamed export. */
describe("e2e: analytics through the gateway", function () {
  this.timeout(90_000);
  const stack = new Stack();
  const admin = { username: "analytics_admin", email: "analytics_admin@example.com", password: "Sturdy-Passw0rd!" };

  before(() => stack.start({ agentRegistry: true, executors: 1, admin, gatewayEnv: { RATE_LIMIT_EXPORT_MAX: "3" } }));
  after(() => stack.stop());

  it("when a user runs tasks, then the dashboard, the agent's figures, the series and the export show them, and nobody else's", async () => {
    const { token } = await signUp(stack.gatewayUrl);
    const other = await signUp(stack.gatewayUrl);
    const echo = await createAgentVia<AgentView>(stack.gatewayUrl, token, { runtime: "echo" });
    const sleepy = await createAgentVia<AgentView>(stack.gatewayUrl, token, { runtime: "sleep", max_attempts: 1 });
    const batch = await http<SubmitBatchResult>(stack.gatewayUrl, "POST", "/api/v1/tasks/batch", {
      token,
      body: { tasks: [...Array.from({ length: 6 }, (_, i) => ({ agent: echo.name, input: { i } })), { agent: sleepy.name, input: { ms: 20, fail: true, retryable: false } }] },
    });
    expect(batch.status).to.equal(202);
    const ids = batch.body.items.map((i) => (i as { task: TaskView }).task.id);

    const call = <T>(path: string, t = token) => http<T>(stack.gatewayUrl, "GET", path, { token: t });
    // Rollups fold finished tasks a few seconds after they finish.
    let last = "";
    const dash = await waitFor(async () => {
      const d = await call<AnalyticsFigures>("/api/v1/analytics/dashboard?range=day");
      last = `${d.status} ${d.text}`;
      return d.status === 200 && d.body.tasks.succeeded + d.body.tasks.failed === 7 ? d.body : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, what: "the rollup to fold the tasks" }).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
    expect(dash.tasks).to.deep.include({ submitted: 7, succeeded: 6, failed: 1, queued_now: 0 });
    expect(dash.success_rate).to.be.closeTo(6 / 7, 0.001);
    expect(dash.duration_ms.p50).to.be.a("number");
    expect(dash.busiest_agents[0]).to.deep.include({ agent_id: echo.id, agent: echo.name, submitted: 6, succeeded: 6 });

    const perAgent = await call<AgentAnalytics>(`/api/v1/analytics/agents/${sleepy.name}?range=week`);
    expect(perAgent.status).to.equal(200);
    expect(perAgent.body.agent).to.deep.equal({ id: sleepy.id, name: sleepy.name });
    expect(perAgent.body.tasks).to.deep.include({ submitted: 1, failed: 1 });
    expect((await call(`/api/v1/analytics/agents/${sleepy.name}`, other.token)).status).to.equal(404);

    const series = await call<Timeseries>("/api/v1/analytics/timeseries/succeeded?range=day&bucket=hour");
    expect(series.status).to.equal(200);
    expect(series.body.points.length).to.be.within(24, 26);
    expect(series.body.points.reduce((a, p) => a + (p.value ?? 0), 0)).to.equal(6);
    expect(series.body.points.filter((p) => p.value === 0).length).to.be.greaterThan(20);
    expect((await call("/api/v1/analytics/timeseries/nonsense")).status).to.equal(422);

    const theirs = await call<AnalyticsFigures>("/api/v1/analytics/dashboard?range=day", other.token);
    expect(theirs.body.tasks.submitted).to.equal(0);
    const adminLogin = await http<{ access_token: string }>(stack.gatewayUrl, "POST", "/api/v1/auth/login", { body: { username: admin.username, password: admin.password } });
    const everyone = await call<AnalyticsFigures>("/api/v1/analytics/dashboard?range=day", adminLogin.body.access_token);
    expect(everyone.body.tasks.submitted).to.be.at.least(7);

    const csv = await call<string>("/api/v1/analytics/export?format=csv&range=day");
    expect(csv.status).to.equal(200);
    expect(csv.headers.get("content-type")).to.match(/text\/csv/);
    const lines = csv.text.trim().split("\n");
    expect(lines[0]).to.equal("id,agent,agent_id,status,attempts,created_at,started_at,finished_at,duration_ms");
    expect(lines.slice(1).map((l) => l.split(",")[0]).sort()).to.deep.equal([...ids].sort());
    const json = await call<Array<{ id: string; status: string }>>("/api/v1/analytics/export?format=json&range=day");
    expect(json.body.map((r) => r.id).sort()).to.deep.equal([...ids].sort());
    expect((await call("/api/v1/analytics/export?format=json&range=day", other.token)).body).to.deep.equal([]);
    // Its own strict budget (3 per user here): the owner's fourth export in the window is refused; the other user's did not count.
    expect((await call("/api/v1/analytics/export?range=day")).status).to.equal(200);
    expect((await call("/api/v1/analytics/export?range=day")).status).to.equal(429);
  });
});
