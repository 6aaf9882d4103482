import { expect } from "chai";
import { passwordProblems } from "../src/domain/password.js";

describe("password policy", () => {
  const user = { username: "ada", email: "ada.lovelace@example.com" };
  it("when a long mixed password is given, then there is no problem", () => {
    expect(passwordProblems("Correct-horse-battery-9", user)).to.deep.equal([]);
  });
  it("when it is too short, then the length is reported", () => {
    expect(passwordProblems("Sh0rt!", user).map((p) => p.message)).to.include("'password' must be 12-128 characters");
  });
  it("when it has one character class, then variety is asked for", () => {
    expect(passwordProblems("onlylowercaseletters", user)).to.have.length(1);
  });
  it("when it contains the username or the email's local part, then it is refused", () => {
    expect(passwordProblems("Xx-ada-1234567", user)).to.have.length(1);
    expect(passwordProblems("Ada.Lovelace-2026", user)).to.have.length(1);
  });
});
