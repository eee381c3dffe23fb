// `sysextkit test IMAGE... --base BASE`: boot the base with the images under QEMU and report (exit 0 only if all holds).
import type { Command } from "commander";
import { SysextError } from "../../errors.js";
import { printJson } from "../output.js";
import { collect } from "./shared.js";

interface TestFlags {
  base?: string;
  kernel?: string;
  initrd?: string;
  rootPartition?: string;
  cmdline?: string;
  append: string[];
  extensionsDir?: string;
  platform?: string;
  accel: string;
  network: string;
  timeout: string;
  memory: string;
  cpus: string;
  expectActive: string[];
  expectFile: string[];
  run: string[];
  allowFailed: string[];
  add: string[];
  settle: string;
  stall: string;
  keep?: string;
  wait: string;
  sysextDebug: boolean;
  schema?: boolean;
  json?: boolean;
}

function number(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    throw new SysextError("USAGE", `${flag} ${JSON.stringify(value)} is not a number >= ${min}`, {
      hint: `write it like ${flag} ${Math.max(min, 1)}`,
    });
  }
  return n;
}

/** --add HOST_PATH:GUEST_PATH (the last colon separates; guest paths are absolute). */
function parseAdd(spec: string): { source: string; target: string } {
  const i = spec.lastIndexOf(":/");
  if (i <= 0) {
    throw new SysextError("USAGE", `--add ${JSON.stringify(spec)} is not HOST_PATH:GUEST_PATH`, {
      hint: "write it like --add ./verity.crt:/etc/verity.d/test.crt",
    });
  }
  return { source: spec.slice(0, i), target: spec.slice(i + 1) };
}

export function registerTest(program: Command): void {
  program
    .command("test")
    .description("boot a base with extension images under QEMU and check what systemd did with them")
    .argument("[images...]", "extension images (NAME.raw or directories) placed into the guest")
    .option("--base <path>", "root directory (kernel from its /boot) or raw/qcow2 disk image")
    .option("--kernel <file>", "kernel to boot (default: the newest boot/vmlinuz-* of a root directory)")
    .option("--initrd <file>", "initrd for --kernel")
    .option("--root-partition <n>", "disk images: the partition with the ext4 root file system")
    .option("--cmdline <text>", 'kernel command line instead of "root=/dev/vda... rw"')
    .option("--append <text>", "append to the kernel command line (repeatable)", collect, [])
    .option("--extensions-dir <dir>", "where the images go in the guest", "/var/lib/extensions")
    .option("--platform <name>", "dress the guest as vmware|azure|gce|aws|qemu|openstack", "qemu")
    .option("--accel <a>", "auto (KVM when it really works, else TCG) | kvm | tcg", "auto")
    .option("--network <n>", "none (no network interface) | user (QEMU user network)", "none")
    .option("--timeout <seconds>", "whole run, boot to power-off; a guest still running is killed", "600")
    .option("--memory <MiB>", "guest memory", "1024")
    .option("--cpus <n>", "guest CPUs", "2")
    .option("--expect-active <unit>", "this unit must be active after the boot (repeatable)", collect, [])
    .option("--expect-file <path>", "this guest path must exist (repeatable)", collect, [])
    .option("--run <command>", "run a shell command in the guest; non-zero fails (repeatable)", collect, [])
    .option("--allow-failed <unit>", "report this unit's failure as a warning (repeatable)", collect, [])
    .option("--add <host:guest>", "place a host file or directory into the guest (repeatable)", collect, [])
    .option("--settle <seconds>", "wait after the boot before looking", "5")
    .option("--stall <seconds>", "look anyway once the same jobs stayed queued this long", "60")
    .option("--keep <dir>", "keep the disk, report disk and console log in this directory")
    .option("--wait <seconds>", "wait this long for another test using the same files (default: refuse)", "0")
    .option("--no-sysext-debug", "do not make systemd-sysext log at debug level in the guest")
    .option("--schema", "print the JSON Schema of the --json report and exit")
    .option("--json", "print the report as JSON")
    .action(async (images: string[], flags: TestFlags) => {
      if (flags.schema) {
        const { bootReportJsonSchema } = await import("../../boot/report-schema.js");
        printJson(bootReportJsonSchema(), { raw: true });
        return;
      }
      if (!flags.base) {
        throw new SysextError("USAGE", "--base is required", {
          hint: "pass a bootable root directory (kernel + initramfs in /boot) or a disk image with --kernel",
        });
      }
      for (const [flag, value, allowed] of [
        ["--accel", flags.accel, ["auto", "kvm", "tcg"]],
        ["--network", flags.network, ["none", "user"]],
      ] as const) {
        if (!(allowed as readonly string[]).includes(value)) {
          throw new SysextError(
            "USAGE",
            `${flag} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`,
            {
              hint: `write it like ${flag} ${allowed[0]}`,
            },
          );
        }
      }
      const { bootTest } = await import("../../boot/boot-test.js");
      const { renderBootReport } = await import("../../boot/render.js");
      // A closed stderr (sysextkit test ... 2>&1 | head) must not end the run before it cleans up.
      process.stderr.on("error", () => undefined);
      const progress = flags.json ? undefined : (m: string) => process.stderr.write(`test: ${m}\n`);
      const report = await bootTest({
        images,
        base: flags.base,
        ...(flags.kernel ? { kernel: flags.kernel } : {}),
        ...(flags.initrd ? { initrd: flags.initrd } : {}),
        ...(flags.rootPartition ? { rootPartition: number("--root-partition", flags.rootPartition, 1) } : {}),
        ...(flags.cmdline ? { cmdline: flags.cmdline } : {}),
        append: flags.append,
        ...(flags.extensionsDir ? { extensionsDir: flags.extensionsDir } : {}),
        platform: flags.platform as never,
        accel: flags.accel as "auto" | "kvm" | "tcg",
        network: flags.network as "none" | "user",
        timeoutMs: number("--timeout", flags.timeout, 10) * 1000,
        memoryMiB: number("--memory", flags.memory, 256),
        cpus: number("--cpus", flags.cpus, 1),
        expectActive: flags.expectActive,
        expectFiles: flags.expectFile,
        run: flags.run,
        allowFailed: flags.allowFailed,
        files: flags.add.map(parseAdd),
        settleMs: number("--settle", flags.settle, 0) * 1000,
        stallMs: number("--stall", flags.stall, 10) * 1000,
        ...(flags.keep ? { keepDir: flags.keep } : {}),
        lockWaitMs: number("--wait", flags.wait, 0) * 1000,
        sysextDebug: flags.sysextDebug,
        ...(progress ? { onProgress: progress } : {}),
      });
      if (flags.json) printJson(report);
      else process.stdout.write(renderBootReport(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}
