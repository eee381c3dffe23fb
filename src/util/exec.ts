// Running external tools: check they exist first (naming the Debian package), run with argument arrays.
import { execa, type Options, type ResultPromise } from "execa";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { SysextError } from "../errors.js";

/** Debian package that provides each external tool we use. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  mksquashfs: "squashfs-tools",
  unsquashfs: "squashfs-tools",
  "mkfs.erofs": "erofs-utils",
  "fsck.erofs": "erofs-utils",
  "dump.erofs": "erofs-utils",
  "systemd-dissect": "systemd-container",
  "systemd-sysext": "systemd",
  "systemd-analyze": "systemd",
  bzip2: "bzip2",
  xz: "xz-utils",
  zstd: "zstd",
  gzip: "gzip",
  "apt-get": "apt",
  "dpkg-deb": "dpkg",
  debootstrap: "debootstrap",
  openssl: "openssl",
  gpg: "gpg",
  gpgconf: "gpgconf",
  setfattr: "attr",
  getfattr: "attr",
  veritysetup: "cryptsetup-bin",
  sha256sum: "coreutils",
  mknod: "coreutils",
  tar: "tar",
  ar: "binutils",
  unshare: "util-linux",
  mount: "mount",
  partx: "util-linux",
  fallocate: "util-linux",
  chroot: "coreutils",
  dpkg: "dpkg",
  rpm: "rpm",
  rpmbuild: "rpm",
  rpm2cpio: "rpm2cpio",
  cpio: "cpio",
  alien: "alien",
  matchpathcon: "selinux-utils",
  selabel_lookup: "selinux-utils",
  getcap: "libcap2-bin",
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-system-aarch64": "qemu-system-arm",
  "qemu-img": "qemu-utils",
  "mkfs.ext4": "e2fsprogs",
  debugfs: "e2fsprogs",
  dumpe2fs: "e2fsprogs",
  resize2fs: "e2fsprogs",
  e2fsck: "e2fsprogs",
  truncate: "coreutils",
  timeout: "coreutils",
  cp: "coreutils",
  ps: "procps",
};

const found = new Map<string, string>();

/** Absolute path of a tool on PATH, or undefined. */
export async function findTool(name: string): Promise<string | undefined> {
  const cached = found.get(name);
  if (cached) return cached;
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Path of a tool, or a TOOL_MISSING error naming the Debian package that provides it. */
export async function requireTool(name: string): Promise<string> {
  const path = await findTool(name);
  if (path) return path;
  const pkg = TOOL_PACKAGES[name];
  throw new SysextError("TOOL_MISSING", `required tool '${name}' was not found on PATH`, {
    hint: pkg ? `install it with: apt-get install ${pkg}` : `install '${name}' and make sure it is on PATH`,
  });
}

/**
 * The one way sysextkit starts a process: execa with the output kept byte for byte. execa strips a final
 * newline by default, which silently shortens binary data ending in \n (or \r\n); every caller goes
 * through here (a lint rule forbids importing execa elsewhere in src/), so no call can forget it.
 */
export function spawnTool<O extends Options>(
  bin: string,
  args: readonly string[],
  options?: O,
): ResultPromise<O> {
  const all = { ...(options ?? ({} as O)), stripFinalNewline: false } as O;
  return execa(bin, args, all) as unknown as ResultPromise<O>;
}

/**
 * Run a tool over binary input and return its standard output exactly (no newline stripped, no text
 * decoding). A failure (non-zero exit, signal) rejects with execa's error.
 */
export async function runBinary(bin: string, args: readonly string[], input: Uint8Array): Promise<Buffer> {
  const r = await spawnTool(bin, args, { input, encoding: "buffer", stderr: "pipe" });
  return Buffer.from(r.stdout);
}

/** Run a tool to completion (text output); a non-zero exit becomes TOOL_FAILED with its stderr. */
export async function runTool(
  name: string,
  args: readonly string[],
  options: Options = {},
): Promise<{ stdout: string; stderr: string }> {
  const bin = await requireTool(name);
  try {
    const r = await spawnTool(bin, args, options);
    return { stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
  } catch (e) {
    const err = e as { stderr?: unknown; shortMessage?: string; exitCode?: number };
    const stderr = typeof err.stderr === "string" ? err.stderr.trim() : "";
    throw new SysextError(
      "TOOL_FAILED",
      `${name} failed${err.exitCode === undefined ? "" : ` with exit code ${err.exitCode}`}${stderr ? `: ${lastLines(stderr, 8)}` : ""}`,
      { cause: e, hint: `the command was: ${name} ${args.join(" ")}` },
    );
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.split("\n");
  return lines.slice(Math.max(0, lines.length - n)).join("\n");
}

/** The environment for tools that take our epoch as flags: ours without SOURCE_DATE_EPOCH. */
export function toolEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && k !== "SOURCE_DATE_EPOCH") env[k] = v;
  return env;
}
