// Test helpers: the SysextError a promise or a call must fail with (anything else fails the test).
import { expect } from "vitest";
import { SysextError, type ErrorCode } from "../../src/errors.js";

function checked(e: unknown, code: ErrorCode | undefined): SysextError {
  if (!(e instanceof SysextError)) throw e;
  if (code !== undefined) expect(e.code, e.message).toBe(code);
  return e;
}

/** The SysextError `p` rejects with, checked to have `code` when given. */
export async function rejection(p: Promise<unknown>, code?: ErrorCode): Promise<SysextError> {
  try {
    await p;
  } catch (e) {
    return checked(e, code);
  }
  throw new Error("expected a SysextError, but the promise resolved");
}

/** The SysextError `fn` throws, checked to have `code` when given. */
export function thrown(fn: () => unknown, code?: ErrorCode): SysextError {
  try {
    fn();
  } catch (e) {
    return checked(e, code);
  }
  throw new Error("expected a SysextError, but nothing was thrown");
}
