// Test helpers for system tools and root: a missing one fails the test (never skips it), naming the Debian package.
import { findTool, TOOL_PACKAGES } from "../../src/util/exec.js";

/** The message for missing tools: which ones, and the packages of scripts/setup-debian.sh that provide them. */
export function missingToolsMessage(missing: readonly string[]): string {
  const pkgs = [...new Set(missing.map((m) => TOOL_PACKAGES[m] ?? m))].join(" ");
  return (
    `missing tool(s) ${missing.join(", ")} (Debian package${pkgs.includes(" ") ? "s" : ""} ${pkgs}): ` +
    `run 'bash scripts/setup-debian.sh' as root (or apt-get install ${pkgs})`
  );
}

/**
 * Every tool must be on PATH; otherwise throws, so the test (or the file, from beforeAll or module level)
 * fails with a message naming the package. The tests never skip: README command 1 installs everything.
 */
export async function needTools(...names: string[]): Promise<void> {
  const missing: string[] = [];
  for (const n of names) if (!(await findTool(n))) missing.push(n);
  if (missing.length > 0) throw new Error(missingToolsMessage(missing));
}

/** The tests run as root (loop mounts, systemd-sysext merge, chroot); otherwise this throws. */
export function needRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error("the tests need root (loop mounts, systemd-sysext merge, chroot): run npm test as root");
  }
}

/**
 * Old names kept so tests written against them still compile; they never return false (they throw like
 * needTools/needRoot), and test/project/zero-skips.test.ts points at every use so it gets rewritten.
 * @deprecated use needTools / needRoot
 */
export async function haveTools(...names: string[]): Promise<true> {
  await needTools(...names);
  return true;
}
/** @deprecated use needRoot */
export function isRoot(): true {
  needRoot();
  return true;
}
/** @deprecated throw instead */
export function precondition(ok: boolean, why: string): true {
  if (!ok) throw new Error(why);
  return true;
}
