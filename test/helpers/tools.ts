// Test helpers for system tools: in CI a missing tool fails the test; locally it skips, naming the package.
import { findTool, TOOL_PACKAGES } from "../../src/util/exec.js";

/**
 * Returns true when all tools exist. When one is missing: under CI (CI=true) throws, so the suite fails;
 * otherwise prints which Debian package to install and returns false, so the caller can skip.
 */
export async function haveTools(...names: string[]): Promise<boolean> {
  const missing: string[] = [];
  for (const n of names) if (!(await findTool(n))) missing.push(n);
  if (missing.length === 0) return true;
  const pkgs = [...new Set(missing.map((m) => TOOL_PACKAGES[m] ?? m))].join(" ");
  const msg = `missing tool(s) ${missing.join(", ")}: apt-get install ${pkgs}`;
  if (process.env.CI) throw new Error(`${msg} (CI requires every tool the tests use)`);
  console.warn(`skipping: ${msg}`);
  return false;
}

/** Whether we run as root (needed for mounts and systemd-sysext merge); CI must be root. */
export function isRoot(): boolean {
  const root = process.getuid?.() === 0;
  if (!root && process.env.CI) throw new Error("CI must run as root: the merge tests mount images");
  if (!root) console.warn("skipping: needs root (loop mounts, systemd-sysext merge)");
  return root;
}
