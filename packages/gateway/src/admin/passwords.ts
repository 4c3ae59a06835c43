import { hash, verify } from "@node-rs/argon2";
import { validationError } from "../platform/errors.ts";

/** The shortest password Studio accepts (NIST SP 800-63B asks for at least 8; we ask 12). */
export const MIN_PASSWORD_LENGTH = 12;

// @node-rs/argon2 hashes with argon2id by default (19 MiB, 2 passes: OWASP's minimum).
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

// Verified instead of a real hash when the email is unknown, so an unknown address costs the
// same time as a wrong password and the answer's timing does not tell which emails have accounts.
let dummyHash: Promise<string> | undefined;

/** Whether `password` matches `passwordHash`; with no hash, spends the same time and says no. */
export async function verifyPassword(
  passwordHash: string | undefined,
  password: string,
): Promise<boolean> {
  if (passwordHash === undefined) {
    dummyHash ??= hash("stablegate dummy password for unknown accounts");
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}

export function checkNewPassword(field: string, password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw validationError(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}
