import { readFileSync } from "node:fs";
import { expect } from "chai";
import { MeridianError, natsPermissionsMarkdown, SUBJECT_TOKEN_PATTERN, scopesForRoles, SubmitTaskRequestSchema, taskEventSubject, validate } from "../src/index.js";

describe("contracts", () => {
  it("when an error crosses the wire, then it keeps its code, status and retryable flag", () => {
    const err = MeridianError.fromPayload(new MeridianError("TIMEOUT", "slow", { a: 1 }).toPayload());
    expect(err).to.include({ code: "TIMEOUT", status: 504, retryable: true, message: "slow" });
    expect(err.details).to.deep.equal({ a: 1 });
  });

  it("when a payload carries an unknown code or an internal message, then it becomes a bare INTERNAL", () => {
    expect(MeridianError.fromPayload({ code: "NOPE" as never, message: "stack at x.js:1" })).to.include({ code: "INTERNAL", message: "Internal error", status: 500 });
  });

  it("when names go into subjects, then only the safe token alphabet passes", () => {
    for (const ok of ["a", "echo-bot", "x".repeat(64)]) expect(SUBJECT_TOKEN_PATTERN.test(ok), ok).to.equal(true);
    for (const bad of ["", "A", "a.b", "a*", "a>", "a b", "-a", "x".repeat(65)]) expect(SUBJECT_TOKEN_PATTERN.test(bad), bad).to.equal(false);
    expect(taskEventSubject("owner", "task")).to.equal("meridian.events.task.owner.task");
  });

  it("when roles are given, then scopes follow: readonly reads, user writes, admin has admin", () => {
    expect(scopesForRoles(["readonly"]).every((s) => s.endsWith(":read"))).to.equal(true);
    expect(scopesForRoles(["user"])).to.include("tasks:write").and.not.include("admin");
    expect(scopesForRoles(["admin"])).to.include("admin");
  });

  it("when a task submission is validated, then defaults apply and every problem is listed", () => {
    expect(validate(SubmitTaskRequestSchema, { agent: "echo" }).value).to.deep.include({ agent: "echo", wait: 0 });
    const { problems } = validate(SubmitTaskRequestSchema, { agent: "Bad.Name", wait: 999, extra: 1 });
    expect(problems?.map((p) => p.path)).to.have.members(["agent", "wait", "extra"]);
  });
});

describe("contracts: NATS permission matrix", () => {
  it("when docs/nats-security.md prints the matrix, then it is the one the code mints", () => {
    const doc = readFileSync(new URL("../../../../docs/nats-security.md", import.meta.url), "utf8");
    const printed = /<!-- nats-matrix:start -->\n([\s\S]*?)\n<!-- nats-matrix:end -->/.exec(doc)?.[1];
    expect(printed, "regenerate the table: natsPermissionsMarkdown()").to.equal(natsPermissionsMarkdown());
  });
});
