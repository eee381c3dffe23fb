// Example helpers: fetch .deb files with apt-get download and create a cached debootstrap base root.
import { execa } from "execa";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SysextError } from "../../src/errors.js";
import type { LoadedSpec } from "../../src/spec/load.js";
import { requireTool } from "../../src/util/exec.js";
import { exists } from "../../src/util/fs.js";
import { withLock } from "../../src/util/lock.js";

/** Marker file written into a base root once debootstrap has finished (never present in a partial root). */
export const BASE_MARKER = ".sysextkit-base-complete";

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Unmount whatever is mounted at or below `dir` (deepest first): a second stage that was killed leaves
 * the /proc and /sys that debootstrap mounted in the chroot, and rm cannot remove a mount point.
 */
export async function unmountUnder(dir: string): Promise<void> {
  const prefix = resolve(dir);
  const mounts = (await readFile("/proc/mounts", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => m !== undefined && (m === prefix || m.startsWith(`${prefix}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execa("umount", ["-l", m], { reject: false });
}

/** Remove a partial root, unmounting what a killed chroot left mounted in it first. */
async function removePartial(partial: string): Promise<void> {
  await unmountUnder(partial);
  await rm(partial, { recursive: true, force: true });
}

/** apt spells epochs in file names as %3a; a package file is NAME_VERSION_ARCH.deb with ARCH the target or "all". */
function debFileFor(files: readonly string[], name: string, arch: string): string | undefined {
  return files
    .filter((f) => f.startsWith(`${name}_`) && (f.endsWith(`_${arch}.deb`) || f.endsWith("_all.deb")))
    .filter((f) => f.split("_").length === 3)
    .sort()
    .at(-1);
}

async function nativeArch(): Promise<string> {
  const { stdout } = await execa(await requireTool("dpkg"), ["--print-architecture"]);
  return stdout.trim();
}

/**
 * Download the .deb files of `packages` (Debian names) for Debian architecture `arch` into `cacheDir`
 * with `apt-get download`, skipping packages already there. Runs `apt-get update` once and retries
 * when apt does not know a package. Returns the absolute paths of the .deb files, in input order.
 */
export async function downloadDebs(packages: string[], cacheDir: string, arch: string): Promise<string[]> {
  const dir = resolve(cacheDir);
  await mkdir(dir, { recursive: true });
  const wanted = [...new Set(packages)];
  const have = await readdir(dir);
  const missing = wanted.filter((p) => debFileFor(have, p, arch) === undefined);
  progress(`debs: ${wanted.length - missing.length} of ${wanted.length} package(s) cached in ${dir}`);
  if (missing.length > 0) {
    const aptGet = await requireTool("apt-get");
    const native = await nativeArch();
    const names = missing.map((p) => (arch === native ? p : `${p}:${arch}`));
    // As root apt drops to the _apt user, which may not write the cache directory; stay root there.
    const sandbox = process.getuid?.() === 0 ? ["-o", "APT::Sandbox::User=root"] : [];
    const download = () =>
      execa(aptGet, [...sandbox, "download", ...names], { cwd: dir, reject: false, all: true });
    progress(`debs: apt-get download ${names.length} package(s): ${names.join(" ")}`);
    let result = await download();
    if (result.exitCode !== 0 && /Unable to locate|has no installation candidate/.test(String(result.all))) {
      progress("debs: apt does not know some packages; running apt-get update");
      const update = await execa(aptGet, ["update"], { reject: false, all: true });
      if (update.exitCode !== 0) {
        throw new SysextError("TOOL_FAILED", `apt-get update failed: ${lastLine(String(update.all))}`, {
          hint: "run apt-get update as root, or fetch the .deb files yourself into the cache directory",
        });
      }
      result = await download();
    }
    if (result.exitCode !== 0) {
      throw new SysextError("TOOL_FAILED", `apt-get download failed: ${lastLine(String(result.all))}`, {
        hint:
          arch === native
            ? "check that the packages exist in the configured suites (apt-cache policy NAME)"
            : `foreign architecture: run 'dpkg --add-architecture ${arch} && apt-get update' first`,
      });
    }
  }
  const now = await readdir(dir);
  return wanted.map((p) => {
    const file = debFileFor(now, p, arch);
    if (!file) {
      throw new SysextError("SOURCE_INVALID", `no .deb for ${p} (${arch}) in ${dir} after apt-get download`, {
        hint: "download it with apt-get download or put it into the cache directory",
      });
    }
    return join(dir, file);
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines.slice(-3).join(" | ");
}

/** Options for the debootstrap base root. */
export interface BaseOptions {
  /** Debian suite (default bookworm). */
  readonly suite?: string;
  /** Mirror (default http://deb.debian.org/debian). */
  readonly mirror?: string;
  /** debootstrap variant (default minbase). */
  readonly variant?: string;
  /** Extra packages (--include). */
  readonly include?: readonly string[];
  /** Debian architecture (default: the host's). */
  readonly arch?: string;
  /**
   * Shell commands run with `chroot ROOT sh -ec` after debootstrap, before the root is marked complete
   * (for example enabling a unit). Part of the marker: another script means another root.
   */
  readonly setup?: string;
  /**
   * For a root of another architecture: debootstrap runs with --foreign and this function finishes the
   * root (second stage, then `setup`) in place, e.g. in a chroot under qemu-user (foreign-root.ts).
   */
  readonly secondStage?: (partial: string, setup: string | undefined) => Promise<void>;
}

/**
 * A Debian root made by debootstrap, created once: built in a sibling directory, marked complete, then
 * renamed into place, so a half-done root is never used. An existing root made with other options is
 * an error (remove it to rebuild). Concurrent callers (parallel test files, two builds) wait for each
 * other on a lock next to the root. Returns the absolute path of the root.
 */
export async function ensureBase(dir: string, opts: BaseOptions = {}): Promise<string> {
  const root = resolve(dir);
  await mkdir(join(root, ".."), { recursive: true });
  return withLock(root, () => ensureBaseLocked(root, opts), {
    waitMs: 45 * 60_000,
    what: `base root ${root}`,
  });
}

async function ensureBaseLocked(root: string, opts: BaseOptions): Promise<string> {
  const suite = opts.suite ?? "bookworm";
  const mirror = opts.mirror ?? "http://deb.debian.org/debian";
  const variant = opts.variant ?? "minbase";
  const include = [...(opts.include ?? [])].sort();
  const args = [`--variant=${variant}`];
  if (include.length > 0) args.push(`--include=${include.join(",")}`);
  if (opts.arch) args.push(`--arch=${opts.arch}`);
  if (opts.secondStage) args.push("--foreign");
  const marker =
    `suite=${suite}\nvariant=${variant}\ninclude=${include.join(",")}\narch=${opts.arch ?? ""}\n` +
    (opts.setup ? `setup=${JSON.stringify(opts.setup)}\n` : "") +
    (opts.secondStage ? "foreign=1\n" : "");

  if (await exists(root)) {
    const found = await readFile(join(root, BASE_MARKER), "utf8").catch(() => undefined);
    if (found === undefined) {
      throw new SysextError("OUTPUT_EXISTS", `${root} exists but is not a complete sysextkit base root`, {
        hint: `remove it (rm -rf ${root}) so it is created again with debootstrap`,
      });
    }
    if (found !== marker) {
      throw new SysextError("OUTPUT_EXISTS", `${root} was made with other debootstrap options`, {
        hint: `remove it (rm -rf ${root}) to rebuild it with: ${args.join(" ")} ${suite}`,
      });
    }
    progress(`base: using cached ${suite} root ${root}`);
    return root;
  }

  const debootstrap = await requireTool("debootstrap");
  if (process.getuid?.() !== 0) {
    throw new SysextError("USAGE", "debootstrap needs root", {
      hint: "run the example as root (or in a container)",
    });
  }
  const partial = `${root}.partial`;
  await removePartial(partial);
  progress(`base: debootstrap ${args.join(" ")} ${suite} ${root} (about a minute, once)`);
  const child = execa(debootstrap, [...args, suite, partial, mirror], { all: true, reject: false });
  const tail: string[] = [];
  for await (const line of child.iterable({ from: "all" })) {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    // Phase lines only (debootstrap prints one line per package and step as well).
    if (
      /^I: (Retrieving (InRelease|Release|Packages)|Resolving|Found|Installing|Unpacking the|Configuring (the|required)|Base system)/.test(
        line,
      )
    ) {
      progress(`base:   ${line.slice(3)}`);
    }
  }
  const result = await child;
  if (result.exitCode !== 0) {
    await removePartial(partial);
    throw new SysextError(
      "TOOL_FAILED",
      `debootstrap failed with exit code ${result.exitCode}: ${tail.slice(-5).join(" | ")}`,
      {
        hint: `check network access to ${mirror}; the command was: debootstrap ${args.join(" ")} ${suite} DIR ${mirror}`,
      },
    );
  }
  if (opts.secondStage) {
    try {
      await opts.secondStage(partial, opts.setup);
    } catch (e) {
      await removePartial(partial);
      throw e;
    } finally {
      await unmountUnder(partial);
    }
  } else if (opts.setup) {
    progress("base:   running the setup script in the new root");
    const r = await execa(await requireTool("chroot"), [partial, "sh", "-ec", opts.setup], {
      all: true,
      reject: false,
      env: { DEBIAN_FRONTEND: "noninteractive", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    if (r.exitCode !== 0) {
      await rm(partial, { recursive: true, force: true });
      throw new SysextError(
        "TOOL_FAILED",
        `setup script of base ${root} failed: ${lastLine(String(r.all))}`,
        {
          hint: "fix the setup commands of this base (they run with chroot ROOT sh -ec)",
        },
      );
    }
  }
  await writeFile(join(partial, BASE_MARKER), marker);
  await rename(partial, root);
  progress(`base: ${root} ready`);
  return root;
}

/**
 * The packages apt would install for `packages` on top of the root `baseDir` (its var/lib/dpkg/status),
 * without Recommends: the package set an extension needs for that base. Uses the host's apt lists.
 */
export async function resolveClosure(packages: readonly string[], baseDir: string): Promise<string[]> {
  const aptGet = await requireTool("apt-get");
  const status = join(resolve(baseDir), "var/lib/dpkg/status");
  if (!(await exists(status))) {
    throw new SysextError("SOURCE_INVALID", `${status} does not exist`, {
      hint: "pass the root directory of a Debian base",
    });
  }
  const result = await execa(
    aptGet,
    [
      "-s",
      "-o",
      `Dir::State::status=${status}`,
      "-o",
      "Debug::NoLocking=1",
      "install",
      "--no-install-recommends",
      ...packages,
    ],
    { reject: false, all: true },
  );
  if (result.exitCode !== 0) {
    throw new SysextError(
      "TOOL_FAILED",
      `apt-get cannot resolve ${packages.join(" ")}: ${lastLine(String(result.all))}`,
      {
        hint: "run apt-get update, and check the names with apt-cache policy",
      },
    );
  }
  const names = String(result.stdout)
    .split("\n")
    .map((l) => /^Inst (\S+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)].sort();
}

/** Package names bundled by the `deb` sources of these specs (entries that are names, not .deb paths). */
export function debPackagesOf(specs: readonly LoadedSpec[]): string[] {
  const names = new Set<string>();
  for (const { spec } of specs) {
    for (const source of spec.sources) {
      if (source.type !== "deb") continue;
      for (const p of source.packages) if (!p.includes("/") && !p.endsWith(".deb")) names.add(p);
    }
  }
  return [...names].sort();
}
