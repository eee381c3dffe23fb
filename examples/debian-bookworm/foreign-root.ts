// A Debian root of another architecture: debootstrap's second stage in a chroot, run by qemu-user through binfmt_misc.
//
// debootstrap --foreign downloads and unpacks; the second stage (dpkg, maintainer scripts, the kernel's
// initramfs) then runs with `chroot` like a native one: the kernel hands every foreign ELF binary to
// qemu-<arch>-static (package qemu-user-static), registered in binfmt_misc with the F flag so the
// interpreter is found from inside the chroot. User-mode emulation: minutes, not the hour a second stage
// inside an emulated guest takes.
import { execa } from "execa";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SysextError } from "../../src/errors.js";
import { requireTool } from "../../src/util/exec.js";
import { exists } from "../../src/util/fs.js";

const BINFMT = "/proc/sys/fs/binfmt_misc";

/** binfmt_misc entry names of Debian's qemu-user-static, per Debian architecture. */
const BINFMT_ENTRY: Readonly<Record<string, string>> = { arm64: "qemu-aarch64", amd64: "qemu-x86_64" };

/**
 * qemu-user's CPU per Debian architecture: cortex-a72 rather than the default "max", whose pointer
 * authentication QEMU emulates slowly.
 */
const QEMU_CPU: Readonly<Record<string, string>> = { arm64: "cortex-a72" };

/** Modules the initramfs of a QEMU guest needs to find its root disk: packing only these keeps it small. */
const INITRAMFS_MODULES = ["virtio_pci", "virtio_mmio", "virtio_blk", "ext4", "crc32c_generic"];

async function binfmtEntry(name: string): Promise<string | undefined> {
  return readFile(join(BINFMT, name), "utf8").catch(() => undefined);
}

/**
 * Make the kernel run `debArch` binaries with qemu-user-static, idempotently: mount binfmt_misc when it
 * is not mounted, enable Debian's registration (update-binfmts) when it is missing, and require the F
 * flag (the interpreter opened at registration, so it works inside a chroot that does not contain it).
 */
export async function ensureBinfmt(debArch: string): Promise<void> {
  const entry = BINFMT_ENTRY[debArch];
  if (!entry) {
    throw new SysextError("USAGE", `no qemu-user binfmt entry known for Debian architecture ${debArch}`, {
      hint: `supported: ${Object.keys(BINFMT_ENTRY).join(", ")}`,
    });
  }
  if (!(await exists(join(BINFMT, "status")))) {
    const r = await execa(await requireTool("mount"), ["-t", "binfmt_misc", "binfmt_misc", BINFMT], {
      reject: false,
      all: true,
    });
    // Another process may have mounted it in the meantime; only a missing file system is an error.
    if (r.exitCode !== 0 && !(await exists(join(BINFMT, "status")))) {
      throw new SysextError("TOOL_FAILED", `cannot mount binfmt_misc on ${BINFMT}: ${String(r.all).trim()}`, {
        hint: "run as root on a kernel with binfmt_misc (modprobe binfmt_misc), or make the root on such a host",
      });
    }
  }
  let text = await binfmtEntry(entry);
  if (text === undefined || !/^enabled$/m.test(text)) {
    const r = await execa(await requireTool("update-binfmts"), ["--enable", entry], {
      reject: false,
      all: true,
    });
    text = await binfmtEntry(entry);
    if (text === undefined || !/^enabled$/m.test(text)) {
      throw new SysextError(
        "TOOL_FAILED",
        `binfmt_misc has no enabled ${entry} entry (update-binfmts --enable ${entry}: ${String(r.all).trim() || `exit ${r.exitCode}`})`,
        { hint: "install qemu-user-static and binfmt-support (bash scripts/setup-debian.sh)" },
      );
    }
  }
  const flags = /^flags: *(\S*)$/m.exec(text)?.[1] ?? "";
  if (!flags.includes("F")) {
    throw new SysextError(
      "TOOL_FAILED",
      `binfmt_misc entry ${entry} lacks the F flag (flags: ${flags || "none"}): its interpreter is not found inside a chroot`,
      {
        hint: `re-register it with F: update-binfmts --disable ${entry} && update-binfmts --enable ${entry} (Debian's qemu-user-static sets fix_binary yes)`,
      },
    );
  }
}

/** Environment for commands run in a foreign chroot. */
export function foreignEnv(debArch: string): Record<string, string> {
  return {
    DEBIAN_FRONTEND: "noninteractive",
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    LC_ALL: "C",
    ...(QEMU_CPU[debArch] ? { QEMU_CPU: QEMU_CPU[debArch] } : {}),
  };
}

async function inChroot(
  root: string,
  debArch: string,
  args: readonly string[],
  what: string,
  progress: (line: string) => void,
): Promise<void> {
  const child = execa(await requireTool("chroot"), [root, ...args], {
    all: true,
    reject: false,
    env: foreignEnv(debArch),
    extendEnv: false,
  });
  const tail: string[] = [];
  for await (const line of child.iterable({ from: "all" })) {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (/^I: (Installing|Configuring (the|required)|Base system)|^update-initramfs/.test(line)) {
      progress(`base:   ${line.replace(/^I: /, "")}`);
    }
  }
  const r = await child;
  if (r.exitCode !== 0) {
    throw new SysextError("TOOL_FAILED", `${what} in the ${debArch} chroot failed (exit ${r.exitCode})`, {
      hint: `its output ended with: ${tail.slice(-6).join(" | ")}`,
    });
  }
}

/**
 * Finish the `debootstrap --foreign` root `partial` of Debian architecture `debArch` in place: the second
 * stage, then `setup`, both with chroot under qemu-user. The initramfs holds only the virtio disk and
 * ext4 modules (set before the kernel package is configured): made quickly under emulation, small to boot.
 */
export async function secondStageInChroot(
  partial: string,
  debArch: string,
  setup: string | undefined,
  progress: (line: string) => void,
): Promise<void> {
  await ensureBinfmt(debArch);
  await inChroot(partial, debArch, ["/bin/true"], "running a binary (binfmt_misc check)", progress);
  await mkdir(join(partial, "etc/initramfs-tools/conf.d"), { recursive: true });
  await writeFile(
    join(partial, "etc/initramfs-tools/conf.d/sysextkit.conf"),
    "# sysextkit: a QEMU guest's initramfs: only the modules listed in modules.d/sysextkit\nMODULES=list\n",
  );
  await mkdir(join(partial, "usr/share/initramfs-tools/modules.d"), { recursive: true });
  await writeFile(
    join(partial, "usr/share/initramfs-tools/modules.d/sysextkit"),
    `${INITRAMFS_MODULES.join("\n")}\n`,
  );
  progress(`base:   second stage in a chroot under qemu-user (${BINFMT_ENTRY[debArch]})`);
  await inChroot(
    partial,
    debArch,
    ["/debootstrap/debootstrap", "--second-stage"],
    "debootstrap --second-stage",
    progress,
  );
  if (setup) {
    progress("base:   running the setup script in the new root");
    await inChroot(partial, debArch, ["sh", "-ec", setup], "the setup script", progress);
  }
}
