// Boot test pieces without booting: report parsing, QEMU arguments, placing files with debugfs, locks, CLI usage.
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile, chmod, mkdir, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelArch } from "../../src/boot/base.js";
import { bootTest } from "../../src/boot/boot-test.js";
import { parseConditions, parseMerged, parseSections } from "../../src/boot/guest-report.js";
import { injectFiles } from "../../src/boot/inject.js";
import { evaluate } from "../../src/boot/evaluate.js";
import { findRootFs } from "../../src/boot/partitions.js";
import { PLATFORM_DRESS, PLATFORMS } from "../../src/boot/platforms.js";
import { qemuArgs } from "../../src/boot/qemu.js";
import { bootReportJsonSchema } from "../../src/boot/report-schema.js";
import { acquireLock } from "../../src/util/lock.js";
import { cli } from "../helpers/cli.js";
import { rejection } from "../helpers/errors.js";
import { requireTestTools } from "../helpers/boot.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-bootpieces-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("the guest report", () => {
  it("parses NAME RC BASE64 lines up to the zeros of the report disk", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const raw = `probe-start 0 ${b64("12.5 3.0\n")}\nrun:1 3 ${b64("out\nerr\n")}\n\0\0\0garbage 1 x\n`;
    const s = parseSections(raw);
    expect([...s.keys()]).toEqual(["probe-start", "run:1"]);
    expect(s.get("run:1")).toEqual({ rc: 3, text: "out\nerr\n" });
  });

  it("reads conditions from busctl's JSON (failed, met, negated, triggering)", () => {
    const c = parseConditions(
      '{"type":"a(sbbsi)","data":[["ConditionVirtualization",false,false,"microsoft",-1],["ConditionPathExists",true,true,"/x",1]]}\n{"type":"a(sbbsi)","data":[]}\n',
    );
    expect(c).toEqual([
      { type: "ConditionVirtualization", trigger: false, negate: false, parameter: "microsoft", state: -1 },
      { type: "ConditionPathExists", trigger: true, negate: true, parameter: "/x", state: 1 },
    ]);
  });

  it("takes the merged extensions from systemd-sysext status, JSON or the text table", () => {
    const json = {
      rc: 0,
      text: '[{"hierarchy":"/opt","extensions":"none"},{"hierarchy":"/usr","extensions":["a","b"]}]',
    };
    expect(parseMerged(json, undefined)).toEqual(["a", "b"]);
    const text = {
      rc: 0,
      text: "HIERARCHY EXTENSIONS SINCE\n/opt      none       -\n/usr      a          Mon\n          b\n",
    };
    expect(parseMerged({ rc: 1, text: "unknown option" }, text)).toEqual(["a", "b"]);
    expect(parseMerged(undefined, { rc: 0, text: "HIERARCHY EXTENSIONS SINCE\n/usr none -\n" })).toEqual([]);
  });

  it("the committed JSON Schema of the report is current and versioned", async () => {
    const committed = JSON.parse(
      await readFile(new URL("../../schema/boot-report.schema.json", import.meta.url), "utf8"),
    ) as { properties: { version: { const: number } } };
    expect(committed).toEqual(bootReportJsonSchema());
    expect(committed.properties.version.const).toBe(1);
    const printed = await cli(["test", "--schema"]);
    expect(printed.exitCode).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(committed);
  });
});

describe("QEMU arguments", () => {
  const common = {
    kernel: "/k",
    initrd: "/i",
    cmdline: "root=/dev/vda rw",
    rootDisk: "/r.raw",
    reportDisk: "/rep.raw",
    consoleLog: "/c.log",
    memoryMiB: 1024,
    cpus: 2,
  };

  it("has no network interface unless asked, and captures the serial console", () => {
    const a = qemuArgs({ ...common, arch: "x86-64", accel: "tcg", platform: "qemu", network: "none" });
    expect(a).toContain("-nodefaults");
    expect(a.join(" ")).toContain("-nic none");
    expect(a.join(" ")).not.toMatch(/-nic user|-netdev/);
    expect(a.join(" ")).toContain("file,id=console,path=/c.log");
    expect(a).toContain("-no-reboot");
    const u = qemuArgs({ ...common, arch: "x86-64", accel: "tcg", platform: "qemu", network: "user" });
    expect(u.join(" ")).toContain("-nic user,model=virtio-net-pci");
  });

  it("dresses each platform with its SMBIOS strings; commas are doubled", () => {
    for (const p of PLATFORMS) {
      const a = qemuArgs({ ...common, arch: "x86-64", accel: "tcg", platform: p, network: "none" });
      const smbios = a.filter((_, i) => a[i - 1] === "-smbios");
      expect(smbios).toEqual([...PLATFORM_DRESS[p].smbios]);
    }
    const vmware = qemuArgs({ ...common, arch: "x86-64", accel: "tcg", platform: "vmware", network: "none" });
    expect(vmware.join(" ")).toContain("manufacturer=VMware,, Inc.");
    expect(vmware[vmware.indexOf("-cpu") + 1]).toBe("max,tcg-cpuid=off");
    const azure = qemuArgs({ ...common, arch: "x86-64", accel: "kvm", platform: "azure", network: "none" });
    expect(azure[azure.indexOf("-cpu") + 1]).toContain("hv-vendor-id=Microsoft Hv");
    // Under TCG the azure dress hides QEMU's CPUID signature: systemd then reads the Gen2 DMI strings.
    const azureTcg = qemuArgs({
      ...common,
      arch: "x86-64",
      accel: "tcg",
      platform: "azure",
      network: "none",
    });
    expect(azureTcg[azureTcg.indexOf("-cpu") + 1]).toBe("max,tcg-cpuid=off");
    expect(azureTcg.join(" ")).toContain("version=Hyper-V UEFI Release v4.1");
    // arm64 guests boot the kernel directly: no SMBIOS without UEFI, so no dress.
    const arm = qemuArgs({ ...common, arch: "arm64", accel: "tcg", platform: "gce", network: "none" });
    expect(arm).not.toContain("-smbios");
    expect(arm).toContain("virt");
  });
});

await requireTestTools("mkfs.ext4", "debugfs", "e2fsck");

describe("placing files with debugfs", () => {
  it("places files, directories and symlinks owned by root, replaces files, and e2fsck finds no error", async () => {
    const disk = join(tmp, "fs.raw");
    const tree = join(tmp, "tree");
    await mkdir(join(tree, "etc/systemd/system"), { recursive: true });
    await writeFile(join(tree, "etc/systemd/system/old.conf"), "old\n");
    await execa("mkfs.ext4", ["-q", "-F", "-d", tree, disk, "64M"]);
    const src = join(tmp, "src");
    await mkdir(join(src, "sub"), { recursive: true });
    await writeFile(join(src, "sub/tool"), "#!/bin/sh\n");
    await chmod(join(src, "sub/tool"), 0o750);
    await symlink("sub/tool", join(src, "link"));
    await writeFile(join(tmp, "cert.pem"), "CERT\n");
    await injectFiles(
      disk,
      0,
      [
        { target: "/etc/verity.d/test.crt", source: join(tmp, "cert.pem") },
        { target: "/etc/systemd/system/old.conf", content: "new\n" },
        { target: "/opt/x", source: src },
        { target: "/etc/systemd/system/a.wants/b.service", symlink: "/dev/null" },
      ],
      join(tmp, "stage"),
    );
    const cat = async (p: string) => (await execa("debugfs", ["-R", `cat ${p}`, disk])).stdout;
    expect(await cat("/etc/verity.d/test.crt")).toBe("CERT");
    expect(await cat("/etc/systemd/system/old.conf")).toBe("new");
    expect(await cat("/opt/x/sub/tool")).toBe("#!/bin/sh");
    const stat = (await execa("debugfs", ["-R", "stat /opt/x/sub/tool", disk])).stdout;
    expect(stat).toMatch(/Mode: +0750/);
    expect(stat).toMatch(/User: +0 +Group: +0/);
    expect((await execa("debugfs", ["-R", "stat /opt/x/link", disk])).stdout).toContain(
      'Fast link dest: "sub/tool"',
    );
    const fsck = await execa("e2fsck", ["-fn", disk], { reject: false });
    expect(fsck.exitCode, fsck.stdout).toBe(0);
  });

  it("refuses guest paths with spaces or .., and a file where a directory is", async () => {
    const disk = join(tmp, "fs2.raw");
    await execa("mkfs.ext4", ["-q", "-F", disk, "16M"]);
    await rejection(injectFiles(disk, 0, [{ target: "/etc/a b", content: "x" }], join(tmp, "s2")), "USAGE");
    await rejection(injectFiles(disk, 0, [{ target: "/etc/../x", content: "x" }], join(tmp, "s3")), "USAGE");
    await rejection(
      injectFiles(disk, 0, [{ target: "/lost+found", content: "x" }], join(tmp, "s4")),
      "USAGE",
    );
  });

  it("finds the ext4 root in an MBR-partitioned disk image", async () => {
    const disk = join(tmp, "mbr.raw");
    await execa("truncate", ["-s", "40M", disk]);
    await execa("mkfs.ext4", ["-q", "-F", "-E", "offset=1048576", disk, "32M"]);
    const mbr = Buffer.alloc(512);
    mbr.writeUInt32LE(0x1234abcd, 440);
    const e = 446 + 16; // second entry: partition 2
    mbr[e + 4] = 0x83;
    mbr.writeUInt32LE(2048, e + 8);
    mbr.writeUInt32LE(65536, e + 12);
    mbr.writeUInt16LE(0xaa55, 510);
    const fh = await import("node:fs/promises").then((m) => m.open(disk, "r+"));
    await fh.write(mbr, 0, 512, 0);
    await fh.close();
    expect(await findRootFs(disk, "x86-64")).toEqual({
      offset: 1048576,
      partition: 2,
      partuuid: "1234abcd-02",
    });
    await rejection(findRootFs(disk, "x86-64", 1), "BASE_INVALID");
  });
});

describe("refusals before anything boots", () => {
  it("refuses to boot a second guest on the same base while one holds it", async () => {
    const base = join(tmp, "root");
    await mkdir(join(base, "boot"), { recursive: true });
    // A kernel header is enough: the lock is taken before any disk is made.
    const bz = Buffer.alloc(1024);
    bz.write("HdrS", 0x202, "latin1");
    await writeFile(join(base, "boot/vmlinuz-1.0"), bz);
    await writeFile(join(tmp, "img.raw"), "x");
    expect(await kernelArch(join(base, "boot/vmlinuz-1.0"))).toBe("x86-64");
    const { createHash } = await import("node:crypto");
    const { realpath } = await import("node:fs/promises");
    const key = createHash("sha256")
      .update(await realpath(base))
      .digest("hex")
      .slice(0, 24);
    // Another process holds the base: our own parent's PID is alive and not us.
    const lockDir = join(tmpdir(), "sysextkit-boot-locks");
    await mkdir(lockDir, { recursive: true });
    await writeFile(join(lockDir, `${key}.lock`), `${process.ppid}\n`);
    try {
      const e = await rejection(bootTest({ images: [join(tmp, "img.raw")], base }), "USAGE");
      expect(e.message).toContain(`in use by process ${process.ppid}`);
      expect(e.message).toContain("another sysextkit test boots it");
    } finally {
      await rm(join(lockDir, `${key}.lock`), { force: true });
    }
    // Our own lock is released after a refusal: taking it now works at once.
    const again = await acquireLock(join(lockDir, key));
    await again.release();
  });

  it("CLI usage errors exit 2: no --base, unknown --accel", async () => {
    const noBase = await cli(["test", "x.raw"]);
    expect(noBase.exitCode).toBe(2);
    expect(noBase.stderr).toContain("--base is required");
    const accel = await cli(["test", "x.raw", "--base", tmp, "--accel", "fast"]);
    expect(accel.exitCode).toBe(2);
    expect(accel.stderr).toContain("--accel");
  });
});

describe("evaluating what the guest saw", () => {
  const sec = (text: string, rc = 0) => ({ rc, text });
  const show = (props: Record<string, string>) =>
    sec(
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n"),
    );
  const unit = (over: Record<string, string>) =>
    show({
      LoadState: "loaded",
      ActiveState: "inactive",
      SubState: "dead",
      Result: "success",
      NRestarts: "0",
      ...over,
    });
  const sections = new Map([
    ["sysext-unit", show({ UnitFileState: "enabled", ActiveState: "active" })],
    ["sysext-status-json", sec('[{"hierarchy":"/usr","extensions":["a"]}]')],
    [
      "sysext-journal",
      sec(
        "[ 1.0] h (sd-sysext)[9]: Opened b.raw\n[ 1.1] h (sd-sysext)[9]: Extension 'b' is for OS '13', but deployed on top of '12'.\n",
      ),
    ],
    ["unit:a:ran.service", unit({ Id: "ran.service", InactiveExitTimestampMonotonic: "5" })],
    ["unit:a:never.service", unit({ Id: "never.service" })],
    [
      "unit:a:typo.service",
      unit({
        Id: "typo.service",
        ActiveState: "failed",
        SubState: "failed",
        Result: "exit-code",
        ExecMainStatus: "203",
      }),
    ],
    [
      "unit:a:waagent.service",
      unit({ Id: "walinuxagent.service", ConditionResult: "no", ConditionTimestampMonotonic: "7" }),
    ],
    [
      "conditions:waagent.service",
      sec('{"type":"a(sbbsi)","data":[["ConditionVirtualization",false,false,"microsoft",-1]]}'),
    ],
    ["unit:a:chronyd.service", unit({ Id: "chrony.service", ActiveState: "failed", Result: "exit-code" })],
    [
      "unit-journal:chronyd.service",
      sec("chronyd[1]: Could not open /dev/ptp_hyperv : No such file or directory\n"),
    ],
    ["probe-end", sec("1.0")],
  ]);
  const input = {
    sections,
    base: { path: "/b", kind: "directory" as const, kernel: "/k" },
    guest: {
      arch: "x86-64",
      accel: "tcg",
      accelReason: "",
      platform: "azure",
      network: "none",
      memoryMiB: 1,
      cpus: 1,
      cmdline: "",
    },
    outcome: "completed",
    wallMs: 1,
    timeoutMs: 1000,
    extensions: [
      { name: "a", image: "/a.raw" },
      { name: "b", image: "/b.raw" },
    ],
    expectActive: [],
    expectFiles: [],
    runs: [],
    allowFailed: [],
    console: { tail: [] },
  } satisfies Parameters<typeof evaluate>[0];
  const report = evaluate(input);
  const units = Object.fromEntries(report.extensions[0]!.units.map((u) => [u.name, u]));

  it("tells ran-and-finished from never started, failed, and skipped by a condition", () => {
    expect(units["ran.service"]!.verdict).toBe("exited");
    expect(units["never.service"]!.verdict).toBe("inactive");
    expect(units["typo.service"]).toMatchObject({ verdict: "failed", execMainStatus: 203 });
    expect(units["waagent.service"]).toMatchObject({
      verdict: "condition",
      failedCondition: "ConditionVirtualization=microsoft",
    });
  });

  it("names what QEMU cannot fake as NOT VERIFIED warnings, and real failures as errors", () => {
    const byUnit = (u: string) => report.checks.find((c) => c.subject === u)!;
    expect(byUnit("waagent.service")).toMatchObject({ id: "unit.platform-unverified", severity: "warning" });
    expect(byUnit("waagent.service").message).toContain("ConditionVirtualization=microsoft");
    expect(byUnit("chronyd.service")).toMatchObject({ id: "unit.platform-unverified", severity: "warning" });
    expect(byUnit("chronyd.service").message).toContain("/dev/ptp_hyperv");
    expect(byUnit("typo.service")).toMatchObject({ severity: "error", ok: false });
    expect(byUnit("never.service")).toMatchObject({ severity: "error", ok: false });
    expect(byUnit("ran.service").ok).toBe(true);
    expect(report.ok).toBe(false);
  });

  it("a failed ConditionVirtualization=microsoft is NOT VERIFIED only where the dress cannot meet it", () => {
    const waagentCheck = (version: number) =>
      evaluate({
        ...input,
        sections: new Map([
          ...sections,
          ["systemd-version", sec(`systemd ${version} (${version}.3-1)\n+PAM\n`)],
        ]),
      }).checks.find((c) => c.subject === "waagent.service")!;
    // systemd < 250 detects Hyper-V by CPUID only, which TCG cannot present.
    expect(waagentCheck(249)).toMatchObject({ id: "unit.platform-unverified", severity: "warning" });
    // 250 and later read the Gen2 DMI product_version the azure dress sets: a failed condition is an error.
    expect(waagentCheck(252)).toMatchObject({ id: "unit.started", severity: "error", ok: false });
    expect(waagentCheck(252).message).toContain("although the guest is dressed as azure");
  });

  it("a unit caught active between restarts that failed twice is failed; on the vmware dress, NOT VERIFIED", () => {
    const failing =
      "systemd[1]: open-vm-tools.service: Main process exited, code=exited, status=1/FAILURE\n" +
      "systemd[1]: open-vm-tools.service: Failed with result 'exit-code'.\n";
    const flapping = (platform: string, journal: string) =>
      evaluate({
        ...input,
        guest: { ...input.guest, platform },
        sections: new Map([
          ...sections,
          [
            "unit:a:vmtoolsd.service",
            unit({ Id: "open-vm-tools.service", ActiveState: "active", SubState: "running" }),
          ],
          ["unit-journal:vmtoolsd.service", sec(journal)],
          ["boot-stall", sec("google-guest-agent.service start running\nmulti-user.target start waiting\n")],
        ]),
      });
    const twice = flapping("qemu", `${failing}systemd[1]: Started open-vm-tools.service.\n${failing}`);
    const u = twice.extensions[0]!.units.find((x) => x.name === "vmtoolsd.service")!;
    expect(u).toMatchObject({ verdict: "failed", failures: 2, active: "active" });
    expect(twice.checks.find((c) => c.subject === "vmtoolsd.service")).toMatchObject({
      severity: "error",
      ok: false,
    });
    expect(twice.timing.stalledJobs).toEqual([
      "google-guest-agent.service start running",
      "multi-user.target start waiting",
    ]);
    const vm = flapping("vmware", `${failing}${failing}`).checks.find(
      (c) => c.subject === "vmtoolsd.service",
    )!;
    expect(vm).toMatchObject({ id: "unit.platform-unverified", severity: "warning" });
    expect(vm.message).toContain("VMware backdoor");
    // Once is a restart that worked: still active.
    const once = flapping("qemu", failing).extensions[0]!.units.find((x) => x.name === "vmtoolsd.service")!;
    expect(once).toMatchObject({ verdict: "active", failures: 1 });
  });

  it("a unit whose start job waits behind an agent that waits for the metadata server is NOT VERIFIED on gce", () => {
    const r = evaluate({
      ...input,
      guest: { ...input.guest, platform: "gce" },
      sections: new Map([
        ...sections,
        ["unit:a:google-startup-scripts.service", unit({ Id: "google-startup-scripts.service" })],
        ["settle", sec("  97 google-startup-scripts.service start waiting\nstarting\n120.5 200.1\n")],
      ]),
    });
    const u = r.extensions[0]!.units.find((x) => x.name === "google-startup-scripts.service")!;
    expect(u).toMatchObject({ verdict: "starting", job: "start waiting" });
    const check = r.checks.find((c) => c.subject === "google-startup-scripts.service")!;
    expect(check).toMatchObject({ id: "unit.platform-unverified", severity: "warning" });
    expect(check.message).toContain("waiting to start (job start waiting");
    // Without the queued job it never started: an error.
    expect(units["never.service"]!.verdict).toBe("inactive");
  });

  it("gives systemd's own reason for an image it did not merge", () => {
    expect(report.extensions[1]).toMatchObject({
      merged: false,
      reason: ["[ 1.1] h (sd-sysext)[9]: Extension 'b' is for OS '13', but deployed on top of '12'."],
    });
  });
});
