// QEMU for a boot test: the machine per guest architecture, the command line, and a quick KVM probe.
import { createHash } from "node:crypto";
import { access, constants, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostArch, type SystemdArch } from "../base/arch.js";
import { SysextError } from "../errors.js";
import { requireTool, spawnTool } from "../util/exec.js";
import { PLATFORM_DRESS, type Accel, type PlatformName } from "./platforms.js";

/** One guest architecture: the emulator, its machine and CPU, the console device the kernel writes to. */
export interface GuestMachine {
  readonly binary: string;
  readonly machine: string;
  readonly cpu: Readonly<Record<Accel, string>>;
  readonly console: string;
  /** Whether SMBIOS strings reach the guest with a direct kernel boot (arm64 needs UEFI for that). */
  readonly smbios: boolean;
}

export const GUEST_MACHINES: Partial<Readonly<Record<SystemdArch, GuestMachine>>> = {
  "x86-64": {
    binary: "qemu-system-x86_64",
    machine: "q35",
    cpu: { kvm: "host", tcg: "max" },
    console: "ttyS0",
    smbios: true,
  },
  arm64: {
    binary: "qemu-system-aarch64",
    machine: "virt",
    // cortex-a72 under TCG: "max" spends much of its time emulating pointer authentication.
    cpu: { kvm: "host", tcg: "cortex-a72" },
    console: "ttyAMA0",
    smbios: false,
  },
};

export function guestMachine(arch: SystemdArch): GuestMachine {
  const m = GUEST_MACHINES[arch];
  if (!m) {
    throw new SysextError("USAGE", `booting ${arch} guests is not supported`, {
      hint: `supported guest architectures: ${Object.keys(GUEST_MACHINES).join(", ")}`,
    });
  }
  return m;
}

export interface QemuArgsInput {
  readonly arch: SystemdArch;
  readonly accel: Accel;
  readonly platform: PlatformName;
  readonly kernel: string;
  readonly initrd?: string | undefined;
  readonly cmdline: string;
  readonly rootDisk: string;
  readonly reportDisk: string;
  readonly consoleLog: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** "none": no network interface at all; "user": QEMU's user network (the host is 10.0.2.2). */
  readonly network: "none" | "user";
}

/** The QEMU argument vector (without the binary). */
export function qemuArgs(q: QemuArgsInput): string[] {
  const m = guestMachine(q.arch);
  const dress = PLATFORM_DRESS[q.platform];
  const cpuProps = q.arch === "x86-64" ? dress.cpu[q.accel] : [];
  const args = [
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-monitor",
    "none",
    "-no-reboot",
    "-machine",
    m.machine,
    "-accel",
    q.accel === "tcg" ? "tcg,thread=multi" : "kvm",
    "-cpu",
    [m.cpu[q.accel], ...cpuProps].join(","),
    "-smp",
    String(q.cpus),
    "-m",
    String(q.memoryMiB),
    "-kernel",
    q.kernel,
    ...(q.initrd ? ["-initrd", q.initrd] : []),
    "-append",
    q.cmdline,
    "-chardev",
    `file,id=console,path=${q.consoleLog}`,
    "-serial",
    "chardev:console",
    // The root disk first (/dev/vda), the report disk second; both found by serial in the guest.
    "-drive",
    `file=${q.rootDisk},format=raw,if=none,id=root,cache=unsafe,discard=unmap`,
    "-device",
    "virtio-blk-pci,drive=root,serial=sysextkit-root",
    "-drive",
    `file=${q.reportDisk},format=raw,if=none,id=report,cache=writethrough`,
    "-device",
    "virtio-blk-pci,drive=report,serial=sysextkit-report",
    // Entropy: a guest without it can stall early in boot under TCG.
    "-device",
    "virtio-rng-pci",
  ];
  if (m.smbios) {
    for (const s of dress.smbios) args.push("-smbios", s);
    if (dress.uuid) args.push("-uuid", dress.uuid);
  }
  if (q.network === "user") args.push("-nic", "user,model=virtio-net-pci");
  else args.push("-nic", "none");
  return args;
}

export interface KvmProbe {
  readonly usable: boolean;
  readonly reason: string;
  readonly ms: number;
}

const probed = new Map<string, Promise<KvmProbe>>();

/**
 * Whether KVM really runs this guest's kernel here. /dev/kvm may exist while nested KVM hangs in the
 * kernel's real-mode setup, so the probe boots `kernel` itself (no disk, no initrd) under KVM and
 * waits for "Linux version" on the serial console: seen within `timeoutMs` means KVM works (the
 * guest is killed at once); nothing means it hangs. x86-64 guests on an x86-64 host; cached per process.
 */
export function probeKvm(arch: SystemdArch, kernel: string, timeoutMs = 10_000): Promise<KvmProbe> {
  const key = `${arch}:${kernel}`;
  let p = probed.get(key);
  if (!p) {
    p = cachedProbe(arch, kernel, timeoutMs);
    probed.set(key, p);
  }
  return p;
}

/**
 * The probe's answer is kept for this host boot (keyed by /proc/sys/kernel/random/boot_id, the
 * kernel file and QEMU's binary), so each new process does not pay for a hanging KVM again.
 */
async function cachedProbe(arch: SystemdArch, kernel: string, timeoutMs: number): Promise<KvmProbe> {
  let file: string | undefined;
  try {
    const bootId = (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
    const k = await stat(kernel);
    const q = await stat(await requireTool(guestMachine(arch).binary));
    const key = createHash("sha256")
      .update(`${bootId}\0${arch}\0${kernel}\0${k.size}\0${k.mtimeMs}\0${q.mtimeMs}`)
      .digest("hex")
      .slice(0, 24);
    file = join(tmpdir(), `sysextkit-kvm-probe-${key}.json`);
    const cached = JSON.parse(await readFile(file, "utf8")) as KvmProbe;
    if (typeof cached.usable === "boolean")
      return { ...cached, reason: `${cached.reason} (probed earlier in this host boot)`, ms: 0 };
  } catch {
    // no cache yet (or no boot id): probe now
  }
  const result = await runKvmProbe(arch, kernel, timeoutMs);
  if (file) await writeFile(file, JSON.stringify(result)).catch(() => undefined);
  return result;
}

async function runKvmProbe(arch: SystemdArch, kernel: string, timeoutMs: number): Promise<KvmProbe> {
  const t0 = Date.now();
  const done = (usable: boolean, reason: string): KvmProbe => ({ usable, reason, ms: Date.now() - t0 });
  if (arch !== hostArch()) return done(false, `a ${arch} guest on a ${hostArch()} host needs emulation`);
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return done(false, "/dev/kvm is missing or not accessible");
  }
  const m = guestMachine(arch);
  const qemu = await requireTool(m.binary);
  const dir = await mkdtemp(join(tmpdir(), "sysextkit-kvmprobe-"));
  const log = join(dir, "console.log");
  try {
    await writeFile(log, "");
    const child = spawnTool(
      qemu,
      [
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-machine",
        m.machine,
        "-accel",
        "kvm",
        "-cpu",
        m.cpu.kvm,
        "-m",
        "256",
        "-kernel",
        kernel,
        "-append",
        `console=${m.console} earlyprintk=${m.console} panic=-1`,
        "-chardev",
        `file,id=console,path=${log}`,
        "-serial",
        "chardev:console",
        "-nic",
        "none",
      ],
      { reject: false, all: true, forceKillAfterDelay: 1000 },
    );
    const deadline = Date.now() + timeoutMs;
    let seen = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await readFile(log, "latin1")).includes("Linux version")) {
        seen = true;
        break;
      }
      await sleep(200);
    }
    child.kill("SIGKILL");
    const r = await child;
    if (seen) return done(true, "a KVM guest kernel started");
    if (r.exitCode !== null && r.exitCode !== undefined && !r.isTerminated) {
      const detail =
        String(r.all ?? "")
          .trim()
          .split("\n")
          .at(-1) ?? "";
      return done(false, `KVM guest failed (exit ${r.exitCode})${detail ? `: ${detail}` : ""}`);
    }
    return done(
      false,
      `the guest kernel printed nothing within ${timeoutMs / 1000} s under KVM (nested KVM hangs)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The accelerator to use: "auto" takes KVM when the probe says it works, else TCG. */
export async function chooseAccel(
  arch: SystemdArch,
  kernel: string,
  wanted: Accel | "auto",
): Promise<{ accel: Accel; reason: string }> {
  if (wanted === "tcg") return { accel: "tcg", reason: "asked for (--accel tcg)" };
  const probe = await probeKvm(arch, kernel);
  if (wanted === "kvm") {
    if (!probe.usable) {
      throw new SysextError("USAGE", `--accel kvm: KVM is not usable here: ${probe.reason}`, {
        hint: "use --accel tcg (or auto, which falls back to TCG)",
      });
    }
    return { accel: "kvm", reason: "asked for (--accel kvm)" };
  }
  return probe.usable
    ? { accel: "kvm", reason: `${probe.reason} in ${probe.ms} ms` }
    : { accel: "tcg", reason: probe.reason };
}
