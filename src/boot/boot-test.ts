// bootTest(): boot a base with extension images under QEMU and report what systemd did with them.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, realpath, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SysextError } from "../errors.js";
import { defaultCacheDir } from "../util/cache.js";
import { acquireLock, type Lock } from "../util/lock.js";
import { resolveBootBase } from "./base.js";
import { onInterrupt, removeTree } from "./cleanup.js";
import { ensureSpace, throwawayDisk } from "./disk.js";
import { evaluate } from "./evaluate.js";
import { readReportDisk } from "./guest-report.js";
import { checkGuestPath, injectFiles, type GuestFile } from "./inject.js";
import { PLATFORMS, type PlatformName } from "./platforms.js";
import { findRootFs } from "./partitions.js";
import { placeImage, probeFiles } from "./probe.js";
import { chooseAccel, guestMachine, qemuArgs } from "./qemu.js";
import type { BootReport } from "./report-schema.js";
import { runGuest } from "./run.js";

export interface BootTestOptions {
  /** Extension images (files or directories); placed under their file name unless `as` says otherwise. */
  readonly images: ReadonlyArray<string | { readonly path: string; readonly as?: string }>;
  /** A root directory (kernel and initrd from its /boot), or a raw/qcow2 disk image (needs `kernel`). */
  readonly base: string;
  readonly kernel?: string;
  readonly initrd?: string;
  /** Disk images: the partition holding the ext4 root (default: found by type, name or as the only one). */
  readonly rootPartition?: number;
  /** Replaces the default "root=... rw" part of the kernel command line. */
  readonly cmdline?: string;
  /** Appended to the kernel command line. */
  readonly append?: readonly string[];
  /** Where the images go in the guest (default /var/lib/extensions). */
  readonly extensionsDir?: string;
  readonly platform?: PlatformName;
  readonly accel?: "auto" | "kvm" | "tcg";
  readonly network?: "none" | "user";
  /** Whole run, boot to power-off (default 600 s). */
  readonly timeoutMs?: number;
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Units that must be active at the end of the boot. */
  readonly expectActive?: readonly string[];
  /** Guest paths that must exist. */
  readonly expectFiles?: readonly string[];
  /** Shell commands run in the guest after the boot (exit code and output reported; non-zero fails). */
  readonly run?: readonly string[];
  /** Units whose failure is reported as a warning instead of failing the test. */
  readonly allowFailed?: readonly string[];
  /** More files for the guest: certificates, drop-ins, configuration (host file/directory or content). */
  readonly files?: readonly GuestFile[];
  /** Seconds to wait after the boot before looking (restarts, timers; default 5). */
  readonly settleMs?: number;
  /** After the boot, how long queued jobs (units still starting) may take before the probe looks (default 30 s). */
  readonly jobsWaitMs?: number;
  /**
   * How long the same jobs may stay queued before the boot counts as stalled and the probe looks anyway
   * (default 60 s): agents that wait for a cloud endpoint forever keep systemd "starting".
   */
  readonly stallMs?: number;
  /** Limit per --run command (default 120 s). */
  readonly runTimeoutMs?: number;
  /** systemd-sysext logs at debug level, so the journal says why an image was not merged (default true). */
  readonly sysextDebug?: boolean;
  /** Keep the disk, report and console log in this directory (made; must not exist or be empty). */
  readonly keepDir?: string;
  /** Where cached root disks live (default: sysextkit's cache directory). */
  readonly cacheDir?: string;
  /** How long to wait for another guest using the same base or images (default 0: refuse at once). */
  readonly lockWaitMs?: number;
  readonly onProgress?: (message: string) => void;
}

const MiB = 1024 * 1024;

/** Lock files live in one place per machine, keyed by the real path, so any path spelling collides. */
async function lockFiles(paths: readonly string[], waitMs: number): Promise<Lock[]> {
  const dir = join(tmpdir(), "sysextkit-boot-locks");
  await mkdir(dir, { recursive: true });
  const locks: Lock[] = [];
  try {
    for (const p of [...new Set(await Promise.all(paths.map((x) => realpath(x))))]) {
      const key = createHash("sha256").update(p).digest("hex").slice(0, 24);
      locks.push(
        await acquireLock(join(dir, key), { waitMs, what: `${p} (another sysextkit test boots it)` }),
      );
    }
  } catch (e) {
    for (const l of locks) await l.release();
    throw e;
  }
  return locks;
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex -- terminal escapes in the serial console
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bM|\r/g, "");
}

export async function bootTest(options: BootTestOptions): Promise<BootReport> {
  const log = options.onProgress ?? (() => undefined);
  const platform = options.platform ?? "qemu";
  if (!PLATFORMS.includes(platform)) {
    throw new SysextError("USAGE", `unknown platform ${JSON.stringify(platform)}`, {
      hint: `use one of ${PLATFORMS.join(", ")}`,
    });
  }
  if (options.images.length === 0 && !options.expectActive?.length && !options.run?.length) {
    throw new SysextError("USAGE", "nothing to test: no images, no --expect-active, no --run", {
      hint: "pass one or more extension images",
    });
  }
  const extensionsDir = checkGuestPath(options.extensionsDir ?? "/var/lib/extensions", "--extensions-dir");
  const timeoutMs = options.timeoutMs ?? 600_000;
  const base = await resolveBootBase({ base: options.base, kernel: options.kernel, initrd: options.initrd });
  const machine = guestMachine(base.arch);
  const images = options.images.map((i) => (typeof i === "string" ? { path: i } : i));
  for (const i of images) {
    await stat(i.path).catch((e: unknown) => {
      throw new SysextError("IO", `cannot read image ${i.path}: ${(e as Error).message}`, {
        location: { file: i.path },
        hint: "pass the path of a built extension image (NAME.raw) or directory",
      });
    });
  }

  const locks = await lockFiles([base.path, ...images.map((i) => i.path)], options.lockWaitMs ?? 0);
  const work = options.keepDir ? resolve(options.keepDir) : await mkdtemp(join(tmpdir(), "sysextkit-boot-"));
  if (options.keepDir) await mkdir(work, { recursive: true });
  const unregister = onInterrupt(() => {
    if (!options.keepDir) removeTree(work)();
    for (const l of locks) removeTree(l.file)();
  });
  try {
    log(`base: ${base.kind} ${base.path} (${base.arch}, kernel ${base.kernel})`);
    const placed = [];
    for (const i of images) placed.push(await placeImage(i, extensionsDir));
    const files = [
      ...(await probeFiles({
        images: placed,
        expectActive: options.expectActive ?? [],
        expectFiles: options.expectFiles ?? [],
        runs: options.run ?? [],
        // The probe stops waiting for the boot early enough to report before the guest is killed.
        deadlineS: Math.max(30, timeoutMs / 1000 - 180),
        jobsWaitS: (options.jobsWaitMs ?? 30_000) / 1000,
        stallS: (options.stallMs ?? 60_000) / 1000,
        settleS: (options.settleMs ?? 5000) / 1000,
        runTimeoutS: (options.runTimeoutMs ?? 120_000) / 1000,
        sysextDebug: options.sysextDebug ?? true,
      })),
      ...(options.files ?? []),
    ];

    log("disk: making the throwaway root disk");
    const disk = join(work, "root.raw");
    await throwawayDisk(base, disk, options.cacheDir ?? defaultCacheDir());
    const root =
      base.kind === "directory"
        ? { offset: 0, partition: undefined, partuuid: undefined }
        : await findRootFs(disk, base.arch, options.rootPartition);
    let payload = 0;
    for (const i of images) payload += (await stat(i.path)).size;
    await ensureSpace(disk, root.offset, payload + 16 * MiB);
    await injectFiles(disk, root.offset, files, join(work, "stage"));
    const report = join(work, "report.raw");
    await writeFile(report, "");
    await truncate(report, 64 * MiB);

    const { accel, reason } = await chooseAccel(base.arch, base.kernel, options.accel ?? "auto");
    log(`qemu: ${accel} (${reason})`);
    const rootArg =
      root.partition === undefined
        ? "root=/dev/vda rw"
        : root.partuuid
          ? `root=PARTUUID=${root.partuuid} rw`
          : `root=/dev/vda${root.partition} rw`;
    const cmdline = [
      options.cmdline ?? rootArg,
      `console=${machine.console}`,
      "panic=-1",
      ...(options.append ?? []),
    ].join(" ");
    const consoleLog = join(work, "console.log");
    const guest = {
      arch: base.arch,
      accel,
      accelReason: reason,
      platform,
      network: options.network ?? "none",
      memoryMiB: options.memoryMiB ?? 1024,
      cpus: options.cpus ?? 2,
      cmdline,
    } as const;
    const args = qemuArgs({
      ...guest,
      kernel: base.kernel,
      initrd: base.initrd,
      rootDisk: disk,
      reportDisk: report,
      consoleLog,
    });
    log(`boot: ${machine.binary} (${platform} dress, timeout ${Math.round(timeoutMs / 1000)} s)`);
    const run = await runGuest({
      binary: machine.binary,
      args,
      timeoutMs,
      consoleLog,
      onMilestone: (m) => log(`boot: ${m}`),
    });
    const sections = await readReportDisk(report);
    const consoleText = stripAnsi(await readFile(consoleLog, "latin1").catch(() => ""));
    const tail = consoleText
      .split("\n")
      .filter((l) => l.trim() !== "")
      .slice(-40);
    if (run.stderr.trim())
      tail.push(
        ...run.stderr
          .trim()
          .split("\n")
          .map((l) => `qemu: ${l}`),
      );
    const result = evaluate({
      sections,
      base: {
        path: base.path,
        kind: base.kind,
        kernel: base.kernel,
        ...(base.initrd ? { initrd: base.initrd } : {}),
      },
      guest,
      outcome:
        run.outcome === "timeout" ? "timeout" : sections.has("probe-end") ? "completed" : "exited-early",
      wallMs: run.wallMs,
      timeoutMs,
      extensions: placed.map((p) => ({ name: p.name, image: p.source, unitsNote: p.unitsNote })),
      expectActive: options.expectActive ?? [],
      expectFiles: options.expectFiles ?? [],
      runs: options.run ?? [],
      allowFailed: options.allowFailed ?? [],
      console: { ...(options.keepDir ? { log: consoleLog } : {}), tail },
    });
    if (!machine.smbios && platform !== "qemu") {
      result.checks.push({
        id: "platform.dress",
        severity: "warning",
        ok: false,
        message: `the ${platform} dress was not applied: ${base.arch} guests see SMBIOS strings only through UEFI firmware, and this boot loads the kernel directly`,
      });
    }
    log(`done: ${result.ok ? "all checks hold" : "some checks failed"} (${Math.round(run.wallMs / 1000)} s)`);
    return result;
  } finally {
    if (!options.keepDir) await rm(work, { recursive: true, force: true });
    for (const l of locks) await l.release();
    unregister();
  }
}
