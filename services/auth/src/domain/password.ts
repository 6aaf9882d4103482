import argon2 from "argon2";
import { PASSWORD_MAX, PASSWORD_MIN, type Problem } from "@meridian/contracts";
import { COMMON_PASSWORDS_TEXT } from "./common-passwords.js";

const COMMON = new Set(COMMON_PASSWORDS_TEXT.split("\n"));
const LEET: Record<string, string> = { "@": "a", "4": "a", "3": "e", "0": "o", $: "s", "5": "s", "7": "t", "!": "i", "1": "i" };
const unleet = (text: string, one = "i") => text.replace(/[@4305$7!1]/g, (c) => (c === "1" ? one : LEET[c]!));

/**
 * On the shipped list of common passwords, case-insensitively: the whole password, or a listed word dressed up
 * with digits and symbols around it and common letter swaps ("P@ssw0rd2024!", "Sunshine12345!").
 */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return true;
  const core = lower.replace(/^[^a-z]+/, "").replace(/[^a-z]+$/, "");
  return [core, unleet(core), unleet(core, "l")].some((word) => word.length >= 5 && COMMON.has(word));
}

/**
 * Length matters most (NIST 800-63B); on top of it we ask for some variety and refuse passwords
 * that contain the username or the email's local part.
 */
export function passwordProblems(password: string, user: { username: string; email: string }): Problem[] {
  const problems: Problem[] = [];
  const add = (message: string) => problems.push({ path: "password", message });
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    add(`'password' must be ${PASSWORD_MIN}-${PASSWORD_MAX} characters`);
  }
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) add("'password' must mix at least three of: lowercase, uppercase, digits, symbols");
  const lower = password.toLowerCase();
  const local = user.email.split("@")[0] ?? "";
  if (lower.includes(user.username) || (local.length >= 3 && lower.includes(local))) {
    add("'password' must not contain the username or email");
  }
  if (/^(.)\1+$/.test(password)) add("'password' must not be one repeated character");
  if (isCommonPassword(password)) add("'password' is too common: it is on the list of most used passwords");
  return problems;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spend the same time as a real verify, so unknown users cannot be told apart by timing. */
  verifyDummy(password: string): Promise<void>;
}

export async function createPasswordHasher({ memoryKiB, timeCost }: { memoryKiB: number; timeCost: number }): Promise<PasswordHasher> {
  const options = { type: argon2.argon2id as 2, memoryCost: memoryKiB, timeCost, parallelism: 1 };
  const dummyHash = await argon2.hash("dummy-password-for-timing", options);
  return {
    hash: (password) => argon2.hash(password, options),
    verify: async (hash, password) => {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
    verifyDummy: async (password) => {
      await argon2.verify(dummyHash, password).catch(() => false);
    },
  };
}
