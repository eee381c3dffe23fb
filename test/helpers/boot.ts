// Test helpers for booted guests: one guest at a time across test files, the bootable bases, leftovers.
import { execa } from "execa";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withLock } from "../../src/util/lock.js";
import { findTool, TOOL_PACKAGES } from "../../src/util/exec.js";

/** Throws naming the Debian packages when a tool is missing (tests never skip). */
export async function requireTestTools(...tools: string[]): Promise<void> {
  const missing: string[] = [];
  for (const t of tools) if (!(await findTool(t))) missing.push(t);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((m) => TOOL_PACKAGES[m] ?? m))].join(" ");
    throw new Error(
      `missing tool(s) ${missing.join(", ")}: run 'bash scripts/setup-debian.sh' as root (apt-get install ${pkgs})`,
    );
  }
}

/**
 * A booted test needs QEMU, e2fsprogs to make and fill the root disk, debootstrap for the base, and root.
 * Throws when something is missing: boot tests never skip.
 */
export async function needBoot(arch: "x86-64" | "arm64" = "x86-64"): Promise<void> {
  const qemu = arch === "arm64" ? "qemu-system-aarch64" : "qemu-system-x86_64";
  await requireTestTools(qemu, "qemu-img", "mkfs.ext4", "debugfs", "dumpe2fs", "debootstrap", "mksquashfs");
  if (process.getuid?.() !== 0)
    throw new Error("booted tests need root (debootstrap, chroot): run them as root");
}

/**
 * Run `fn` while no other test file boots a guest: guests run one after another (two TCG guests on two
 * cores would only slow each other down and make the timeouts meaningless).
 */
export function oneGuestAtATime<T>(fn: () => Promise<T>): Promise<T> {
  return withLock(join(tmpdir(), "sysextkit-test-guest-slot"), fn, {
    waitMs: 80 * 60_000,
    what: "the test guest slot",
  });
}

/**
 * Processes of guests whose command line mentions `needle` (a work directory, a disk): QEMU itself and the
 * `timeout` that runs it. `qemuOnly` keeps QEMU's own processes (one per guest).
 */
export async function qemuProcesses(needle: string, qemuOnly = false): Promise<string[]> {
  const r = await execa("ps", ["-eo", "pid=,args="], { reject: false });
  return String(r.stdout)
    .split("\n")
    .filter((l) => (qemuOnly ? /^\s*\d+\s+\S*qemu-system/ : /qemu-system/).test(l) && l.includes(needle));
}

/** sysextkit-boot-* work directories left in the temporary directory. */
export async function bootWorkDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter(
    (n) => n.startsWith("sysextkit-boot-") && n !== "sysextkit-boot-locks",
  );
}
