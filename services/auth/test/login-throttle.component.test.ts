import { expect } from "chai";
import { MeridianError, Subjects, type UserView } from "@meridian/contracts";
import { refusal, waitFor } from "@meridian/service-kit/testing";
import { AuthTestContext, newUser } from "./auth-context.js";

const FREE = 3;

/** Two auth replicas on one database share each account's sign-in count. */
describe("login throttling across auth replicas", function () {
  this.timeout(60_000);
  const replicas = [new AuthTestContext(), new AuthTestContext()];

  before(async () => {
    const env = { LOGIN_FREE_ATTEMPTS: String(FREE), LOGIN_LOCK_BASE_S: "2", LOGIN_LOCK_MAX_S: "8" };
    for (const replica of replicas) await replica.start(env);
  });
  after(() => Promise.all(replicas.map((r) => r.stop())));

  const [first] = replicas;
  const attempt = async (username: string, password: string, via = 0): Promise<MeridianError | "ok"> => {
    try {
      await replicas[via % replicas.length]!.request(Subjects.auth.login, { username, password });
      return "ok";
    } catch (err) {
      if (err instanceof MeridianError) return err;
      throw err;
    }
  };
  const codeOf = (outcome: MeridianError | "ok") => (outcome === "ok" ? "ok" : outcome.code);
  const retryAfterOf = (outcome: MeridianError | "ok") => (outcome === "ok" ? undefined : (outcome.details as { retry_after?: number } | undefined)?.retry_after);

  async function registered() {
    const user = newUser();
    await first!.request<UserView>(Subjects.auth.register, user);
    return user;
  }

  it("when 30 guesses for one account arrive at once on two replicas, then exactly the free attempts get their password checked and the rest are LOGIN_LOCKED", async () => {
    const user = await registered();
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(user.username, `Wrong-Guess-${i}-xyz`, i)));
    const codes = outcomes.map(codeOf);
    expect(codes.filter((c) => c === "INVALID_CREDENTIALS")).to.have.length(FREE);
    expect(codes.filter((c) => c === "LOGIN_LOCKED")).to.have.length(30 - FREE);
  });

  it("when failures go on after each lock, then the lock doubles up to the cap, and a success clears the count", async () => {
    const user = await registered();
    for (let i = 0; i < FREE; i++) expect(codeOf(await attempt(user.username, "Wrong-Guess-xyz-1", i))).to.equal("INVALID_CREDENTIALS");
    const locks: number[] = [];
    for (let round = 0; round < 3; round++) {
      const locked = await attempt(user.username, user.password, round);
      expect(codeOf(locked)).to.equal("LOGIN_LOCKED");
      locks.push(retryAfterOf(locked)!);
      const failed = await waitFor(async () => {
        const outcome = await attempt(user.username, "Wrong-Guess-xyz-2", round + 1);
        return codeOf(outcome) === "INVALID_CREDENTIALS" ? outcome : undefined;
      }, { timeoutMs: 20_000, intervalMs: 250, what: "the lock to end" });
      expect(failed).to.be.instanceOf(MeridianError);
    }
    const last = await attempt(user.username, user.password);
    locks.push(retryAfterOf(last)!);
    // 2 s after the free attempts, then 4, 8, and 8 again (the cap). Retry-After is the ceiling of what is left
    // when asked, a moment after the lock was set: each is its lock or up to a second less.
    const expected = [2, 4, 8, 8];
    locks.forEach((lock, i) => expect(lock, `lock ${i + 1} of ${JSON.stringify(locks)}`).to.be.within(expected[i]! - 1, expected[i]!));

    await waitFor(async () => codeOf(await attempt(user.username, user.password)) === "ok", { timeoutMs: 20_000, intervalMs: 250, what: "sign-in after the lock" });
    for (let i = 0; i < FREE; i++) expect(codeOf(await attempt(user.username, "Wrong-Guess-xyz-3", i))).to.equal("INVALID_CREDENTIALS");
  });

  it("when the login name is unknown, then it locks exactly like a known one", async () => {
    const known = await registered();
    const unknown = newUser().username;
    const run = async (username: string) => {
      const out: string[] = [];
      for (let i = 0; i < FREE + 2; i++) out.push(codeOf(await attempt(username, "Wrong-Guess-xyz-4", i)));
      return out;
    };
    const [a, b] = [await run(known.username), await run(unknown)];
    expect(b).to.deep.equal(a);
    expect(a.slice(FREE)).to.deep.equal(["LOGIN_LOCKED", "LOGIN_LOCKED"]);
    const locked = await refusal(first!.request(Subjects.auth.login, { username: unknown, password: "x" }));
    expect(locked.status).to.equal(429);
  });

  it("when wrong passwords are sent for known accounts and for unknown names, then the answers take about as long (median within 2x)", async () => {
    const known = await Promise.all(Array.from({ length: 15 }, () => registered()));
    const times = { known: [] as number[], unknown: [] as number[] };
    for (const [i, user] of known.entries()) {
      for (const kind of ["known", "unknown"] as const) {
        const began = performance.now();
        const outcome = await attempt(kind === "known" ? user.username : newUser().username, "Wrong-Guess-xyz-5", i);
        times[kind].push(performance.now() - began);
        expect(codeOf(outcome)).to.equal("INVALID_CREDENTIALS");
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
    const [k, u] = [median(times.known), median(times.unknown)];
    expect(u / k, `medians: known ${k.toFixed(1)} ms, unknown ${u.toFixed(1)} ms`).to.be.within(0.5, 2);
  });
});
