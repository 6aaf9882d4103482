import { expect } from "chai";
import { isCommonPassword, passwordProblems } from "../src/domain/password.js";

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

  it("when it is a common password in any case, or a common word dressed with digits, symbols and letter swaps, then it is refused as too common", () => {
    for (const password of ["Password1234", "PASSWORD1234", "qwerty123456", "1Q2W3E4R5T6Y", "P@ssw0rd2024!", "Sunshine12345!", "!!Football2024", "Dr@gon-1234567"]) {
      expect(isCommonPassword(password), password).to.equal(true);
      expect(passwordProblems(password, user).map((p) => p.message), password).to.include("'password' is too common: it is on the list of most used passwords");
    }
  });
  it("when common words are only part of a longer passphrase, then it is not refused as common", () => {
    for (const password of ["Correct-horse-battery-9", "Sturdy-Passw0rd!", "Velvet-Lantern-Quarry-81", "Sunshine-Over-Lisbon-7"]) {
      expect(isCommonPassword(password), password).to.equal(false);
    }
  });
});
