import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { chromium, type Browser, type Page } from "playwright-core";
import { repoRoot, uniqueName, waitFor } from "@meridian/service-kit/testing";
import { createAgentVia, http, newUser, signUp } from "../support/http.js";
import { Stack } from "../support/stack.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const DIST_INDEX = join(repoRoot, "services/gateway/console/dist/index.html");
const ARTIFACTS = join(repoRoot, "tests/artifacts");
const CONSOLE_SRC = join(repoRoot, "services/gateway/console");

/** The build is missing or older than a source file (`npm test` compiles TypeScript, not the console). */
function consoleStale(): boolean {
  if (!existsSync(DIST_INDEX)) return true;
  const built = statSync(DIST_INDEX).mtimeMs;
  const sources = [join(CONSOLE_SRC, "index.html"), join(CONSOLE_SRC, "vite.config.ts"), ...readdirSync(join(CONSOLE_SRC, "src"), { recursive: true, encoding: "utf8" }).map((f) => join(CONSOLE_SRC, "src", f))];
  return sources.some((f) => statSync(f).mtimeMs > built);
}

type User = ReturnType<typeof newUser>;

describe("e2e: the console in a real browser (Chromium headless)", function () {
  this.timeout(60_000);
  const stack = new Stack();
  const admin = newUser();
  let browser: Browser | undefined;
  const problems: string[] = [];
  let current: Page | undefined;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      process.stdout.write(`    skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)\n`);
      this.skip();
    }
    this.timeout(180_000);
    if (consoleStale()) execFileSync("npm", ["run", "build:console"], { cwd: repoRoot, stdio: "ignore", timeout: 150_000 });
    mkdirSync(ARTIFACTS, { recursive: true });
    await stack.start({ agentRegistry: true, executors: 1, realtime: 1, admin });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
  });
  after(async () => {
    await browser?.close();
    await stack.stop();
  });

  // A failed journey leaves its page open: keep what it showed, then close it.
  afterEach(async function () {
    if (!current) return;
    const title = this.currentTest?.title ?? "test";
    await current.screenshot({ path: join(ARTIFACTS, `console-failed-${title.slice(5, 40).replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => undefined);
    await current.context().close().catch(() => undefined);
    current = undefined;
  });

  const url = (path: string) => `${stack.gatewayUrl}/console${path}`;

  /** A fresh context per test; CSP violations and uncaught errors are collected and must stay empty. */
  async function openPage(viewport = { width: 1280, height: 860 }): Promise<Page> {
    const context = await browser!.newContext({ viewport });
    const page = await context.newPage();
    current = page;
    problems.length = 0;
    page.on("console", (msg) => {
      if (msg.type() === "error" && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    page.on("pageerror", (err) => problems.push(`uncaught: ${err.message}`));
    return page;
  }
  async function closePage(page: Page) {
    current = undefined;
    await page.context().close();
    expect(problems, "CSP violations or uncaught errors in the page").to.deep.equal([]);
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });

  async function signIn(page: Page, user: Pick<User, "username" | "password">, path = "/") {
    await page.goto(url(path));
    await page.getByLabel("Username or email").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    // Signed in once the app has left the sign-in page for the one asked for.
    await page.waitForURL((u) => !u.pathname.endsWith("/login"));
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  }

  it("when a new user signs up in the console, then they land on analytics signed in, and can sign out and in again", async () => {
    const res = await http(stack.gatewayUrl, "GET", "/console/");
    expect(res.status).to.equal(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).to.include("script-src 'self'").and.include("style-src 'self'").and.not.include("unsafe-inline");
    expect(res.headers.get("cache-control")).to.equal("no-cache");
    const asset = /\/console\/assets\/[^"]+\.js/.exec(res.text)![0];
    expect((await http(stack.gatewayUrl, "GET", asset)).headers.get("cache-control")).to.include("immutable");
    expect((await http(stack.gatewayUrl, "GET", "/console/assets/missing.js")).status).to.equal(404);

    const page = await openPage();
    await page.goto(url("/tasks"));
    await page.getByRole("heading", { name: "Sign in to Meridian" }).waitFor();
    // Focus moves to the new page's heading, and the keyboard goes on from there into the form.
    expect(await page.evaluate("document.activeElement.textContent")).to.equal("Sign in to Meridian");
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.name")).to.equal("login");
    await page.getByRole("link", { name: "Sign up" }).click();
    const user = newUser();
    await page.getByLabel("Username").fill(user.username);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Analytics", level: 1 }).waitFor();
    await page.getByText(user.username, { exact: true }).waitFor();
    // Before the analytics endpoints answer (or with no tasks yet) the page says "no data" instead of failing.
    await page.locator(".no-data, .stat").first().waitFor();
    await shot(page, "analytics");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
    await page.getByRole("heading", { name: "Task history" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Task history" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Meridian" }).waitFor();
    await signIn(page, user);
    await page.getByRole("heading", { name: "Analytics", level: 1 }).waitFor();
    await closePage(page);
  });

  it("when the analytics endpoints answer, then the dashboard shows the figures and one SVG chart per series", async () => {
    // The shapes of GET /api/v1/analytics/{dashboard,timeseries/…}, answered in the browser so the rendering
    // is checked whatever the analytics service has today; the real endpoints are read by the first journey.
    const { user } = await signUp(stack.gatewayUrl);
    const page = await openPage();
    const to = Date.now();
    const points = Array.from({ length: 24 }, (_, i) => ({ t: new Date(to - (23 - i) * 3_600_000).toISOString(), value: i % 5 === 0 ? 0 : (i * 7) % 23 }));
    await page.route("**/api/v1/analytics/**", (route) => {
      const path = new URL(route.request().url()).pathname;
      const metric = path.split("/").pop()!;
      const body = path.endsWith("/dashboard")
        ? {
            range: "day", from: new Date(to - 86_400_000).toISOString(), to: new Date(to).toISOString(), agents_active: 2, queue_depth: 2,
            tasks: { submitted: 120, succeeded: 101, failed: 9, cancelled: 4, timed_out: 3, dead_lettered: 3, queued_now: 2, running_now: 1 },
            success_rate: 0.8417, duration_ms: { p50: 180, p95: 2400, p99: 9100 }, retries: 14, dead_letters: 3,
            busiest_agents: [
              { agent_id: "a1", agent: "echo-bot", submitted: 70, succeeded: 66, failed: 4 },
              { agent_id: "a2", agent: "weather-fetcher", submitted: 50, succeeded: 35, failed: 5 },
            ],
          }
        : { metric, bucket: "hour", from: points[0]!.t, to: new Date(to).toISOString(), points: points.map((p) => ({ ...p, value: metric === "duration_p95" ? p.value * 100 : p.value })) };
      return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
    });
    await signIn(page, user, "/");
    await page.getByText("84.2%").waitFor();
    expect(await page.locator(".stat").count()).to.equal(12);
    for (const title of ["Tasks submitted", "Tasks succeeded", "Tasks failed", "Duration p95"]) {
      await page.getByRole("img", { name: new RegExp(`^${title}: 24 hour buckets`) }).waitFor();
    }
    await page.getByRole("img", { name: "Tasks per agent" }).waitFor();
    await page.getByRole("row", { name: /weather-fetcher 50 35 5/ }).waitFor();
    await shot(page, "analytics-data");
    await closePage(page);
  });

  it("when a user creates an agent in the form, then it is listed, and editing and disabling it change it", async () => {
    const { user, token } = await signUp(stack.gatewayUrl);
    const name = uniqueName("ui").toLowerCase();
    const page = await openPage();
    await signIn(page, user, "/agents");
    await page.getByRole("link", { name: "New agent" }).click();
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Runtime").selectOption("sleep");
    await page.getByLabel("Sleep (ms)").fill("150");
    await page.getByLabel("Visibility").selectOption("public");
    await page.getByRole("button", { name: "Create agent" }).click();
    const row = page.locator(`tr[data-agent="${name}"]`);
    await row.waitFor();
    expect(await row.innerText()).to.include("sleep").and.include("public").and.include("enabled");

    await row.getByRole("link", { name, exact: true }).click();
    await page.getByLabel("Description").fill("naps on request");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText(/Saved .* \(version 2\)/).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Agents" }).click();
    // Other users' public agents are listed too: find ours with the filters.
    await page.getByLabel("Search").fill(name);
    await page.getByLabel("Owner").selectOption("me");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByRole("button", { name: `Disable ${name}` }).click();
    await page.getByRole("button", { name: `Enable ${name}` }).waitFor();
    await shot(page, "agents");

    const agent = await http(stack.gatewayUrl, "GET", `/api/v1/agents/${name}`, { token });
    expect(agent.body).to.deep.include({ runtime: "sleep", config: { ms: 150 }, visibility: "public", enabled: false, description: "naps on request", version: 3 });
    await closePage(page);
  });

  it("when a task is run from the console, then its events arrive live, it ends succeeded, and its page, history and analytics show it", async () => {
    const { user, token } = await signUp(stack.gatewayUrl);
    const agent = await createAgentVia<{ name: string }>(stack.gatewayUrl, token, { runtime: "sleep", config: { ms: 50 } });
    const page = await openPage();
    await signIn(page, user, `/run?agent=${agent.name}`);
    await page.locator('.live-badge[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.getByLabel("Input (JSON)").fill('{ "ms": 700 }');
    await page.getByRole("button", { name: "Run task" }).click();
    const timeline = page.getByRole("log", { name: "Task events" });
    // Live: "started" shows while the task still sleeps, then "succeeded" follows without a reload.
    await timeline.locator('li[data-type="started"]').waitFor({ timeout: 30_000 });
    await timeline.locator('li[data-type="succeeded"]').waitFor({ timeout: 30_000 });
    const types = await timeline.locator("li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-type")));
    expect(types[0]).to.equal("queued");
    expect(types.at(-1)).to.equal("succeeded");
    await page.locator("pre.result", { hasText: '"slept_ms": 700' }).waitFor();
    await shot(page, "run-task");

    const taskLink = page.locator(".live h2 a");
    const short = await taskLink.innerText();
    await taskLink.click();
    await page.getByRole("heading", { name: `Task ${short}` }).waitFor();
    await page.getByRole("log", { name: "Task events" }).locator('li[data-type="succeeded"]').waitFor();
    await page.locator(".summary").getByText("succeeded").waitFor();
    await page.locator("pre.result", { hasText: "slept_ms" }).waitFor();
    await shot(page, "task");

    await page.goto(url(`/tasks?agent=${agent.name}`));
    await page.locator("tbody tr", { hasText: short }).getByText("succeeded").waitFor();
    await page.getByLabel("Status").selectOption("failed");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No tasks match.").waitFor();

    // The real analytics endpoints: once the rollup has folded the task, the dashboard counts it and charts it.
    await waitFor(async () => {
      const d = await http<{ tasks: { succeeded: number } }>(stack.gatewayUrl, "GET", "/api/v1/analytics/dashboard?range=day", { token });
      return d.status === 200 && d.body.tasks.succeeded === 1;
    }, { timeoutMs: 30_000, intervalMs: 500, what: "the dashboard to count the task" });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Analytics" }).click();
    await page.locator(".stat", { hasText: "Succeeded" }).getByText("1", { exact: true }).waitFor();
    await page.getByRole("img", { name: /^Tasks succeeded: \d+ hour buckets/ }).waitFor();
    await page.getByRole("row", { name: new RegExp(`${agent.name} 1 1 0`) }).waitFor();
    await closePage(page);
  });

  it("when an API key is created, then its secret is shown once and works, and once revoked it is refused", async () => {
    const { user } = await signUp(stack.gatewayUrl);
    const name = uniqueName("key");
    const page = await openPage();
    await signIn(page, user, "/keys");
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("tasks:read").check();
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = await page.getByLabel(`Secret of ${name}`).inputValue();
    expect(secret).to.match(/^mk_/);
    const row = page.locator("tbody tr", { hasText: name });
    await row.getByText("tasks:read").waitFor();
    await shot(page, "keys");
    expect((await http(stack.gatewayUrl, "GET", "/api/v1/tasks", { headers: { "X-API-Key": secret } })).status).to.equal(200);

    await page.reload();
    await row.waitFor();
    expect(await page.getByLabel(`Secret of ${name}`).count(), "the secret after a reload").to.equal(0);
    await row.getByRole("button", { name: `Revoke ${name}` }).click();
    await page.getByRole("button", { name: `Confirm revoking ${name}` }).click();
    await page.getByText(`Key ${name} revoked.`).waitFor();
    expect(await row.count()).to.equal(0);
    await waitFor(async () => (await http(stack.gatewayUrl, "GET", "/api/v1/tasks", { headers: { "X-API-Key": secret } })).status === 401, {
      timeoutMs: 5000,
      what: "the revoked key to be refused",
    });
    await closePage(page);
  });

  it("when an admin opens the console on a narrow screen, then the users section shows and the layout stacks", async () => {
    const page = await openPage({ width: 390, height: 844 });
    await signIn(page, admin, "/users");
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    // The real user list (GET /api/v1/users): a row per account, stacked as cards on a narrow screen.
    await page.locator("table tbody tr").first().waitFor();
    await shot(page, "narrow-users");
    const overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    expect(overflow, "horizontal overflow in px").to.be.at.most(0);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Agents" }).click();
    await page.getByRole("heading", { name: "Agents" }).waitFor();
    await shot(page, "narrow-agents");
    await closePage(page);
  });
});
