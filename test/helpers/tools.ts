// Test helpers for system tools: in CI a missing tool fails the test; locally it skips, naming the package.
import { findTool, TOOL_PACKAGES } from "../../src/util/exec.js";

/**
 * Whether a precondition of a test holds. When it does not: under CI (CI=true) throws, so the suite
 * fails instead of skipping silently; otherwise prints why and returns false, so the caller can skip.
 */
export function precondition(ok: boolean, why: string): boolean {
  if (ok) return true;
  if (process.env.CI) throw new Error(`${why} (CI requires every precondition of the tests)`);
  console.warn(`skipping: ${why}`);
  return false;
}

/** Returns true when all tools exist; see `precondition` for what happens when one is missing. */
export async function haveTools(...names: string[]): Promise<boolean> {
  const missing: string[] = [];
  for (const n of names) if (!(await findTool(n))) missing.push(n);
  const pkgs = [...new Set(missing.map((m) => TOOL_PACKAGES[m] ?? m))].join(" ");
  return precondition(missing.length === 0, `missing tool(s) ${missing.join(", ")}: apt-get install ${pkgs}`);
}

/** Whether we run as root (needed for mounts and systemd-sysext merge); CI must be root. */
export function isRoot(): boolean {
  return precondition(process.getuid?.() === 0, "needs root (loop mounts, systemd-sysext merge)");
}
