// Booted guests: what `sysextkit test` reports for good and broken images, bases, and when it is interrupted.
import { execa } from "execa";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase } from "../../src/base/base.js";
import { kernelInRoot } from "../../src/boot/base.js";
import { bootTest } from "../../src/boot/boot-test.js";
import { renderBootReport } from "../../src/boot/render.js";
import { bootReportSchema, type BootReport } from "../../src/boot/report-schema.js";
import { buildExtension } from "../../src/build.js";
import { loadSpecFile, specFromObject } from "../../src/spec/load.js";
import { acquireLock } from "../../src/util/lock.js";
import { ensureRoot } from "../../scripts/roots.js";
import { cli, REPO } from "../helpers/cli.js";
import { needBoot, bootWorkDirs, oneGuestAtATime, qemuProcesses } from "../helpers/boot.js";

await needBoot();
let tmp: string;
let root: string;
const images: Record<string, string> = {};

async function sha256(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest("hex");
}

/** Every entry of the base root with size and modification time: changes if anything is written. */
async function treeState(dir: string): Promise<string> {
  const r = await execa("find", [dir, "-printf", "%p %s %T@ %m\\n"]);
  return createHash("sha256").update(r.stdout).digest("hex");
}

describe("booting the Debian 12 base with extensions (QEMU)", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-boottest-"));
    root = await ensureRoot("bookworm-boot");
    const base = await readBase({ path: root });
    const out = join(tmp, "out");
    images.hello = (
      await buildExtension({
        spec: await loadSpecFile(join(REPO, "examples/hello/extension.yaml")),
        base,
        outDir: out,
      })
    ).image;
    // A unit with a typo in ExecStart=, upheld like every catalog agent.
    const typo = specFromObject(
      {
        name: "typo",
        sources: [
          {
            type: "file",
            path: "usr/lib/systemd/system/typo.service",
            content: "[Unit]\nDescription=A unit with a typo\n\n[Service]\nExecStart=/usr/bin/missing\n",
          },
        ],
        services: { upholds: ["typo.service"] },
      },
      join(tmp, "typo.yaml"),
    );
    images.typo = (await buildExtension({ spec: typo, base, outDir: out })).image;
    // Built for the same base with another VERSION_ID: systemd-sysext must refuse it.
    const other = specFromObject(
      { name: "otherver", sources: [{ type: "file", path: "usr/share/otherver/x", content: "x\n" }] },
      join(tmp, "other.yaml"),
    );
    images.otherver = (
      await buildExtension({
        spec: other,
        base: await readBase({ path: root, values: { VERSION_ID: "13" } }),
        outDir: out,
      })
    ).image;
  }, 1_800_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("reports merged images, started and failed units, refused images, files and commands (CLI --json)", async () => {
    const before = await treeState(root);
    const dirsBefore = await bootWorkDirs();
    const guestsBefore = await qemuProcesses("sysextkit-boot-");
    const r = await oneGuestAtATime(() =>
      cli(
        [
          "test",
          images.hello!,
          images.typo!,
          images.otherver!,
          "--base",
          root,
          "--expect-file",
          "/usr/share/hello/motd",
          "--expect-file",
          "/usr/bin/not-there",
          "--expect-active",
          "systemd-journald.service",
          "--run",
          "hello",
          "--run",
          "echo to-stderr >&2; exit 3",
          "--run",
          "ls /sys/class/net",
          // Another directory systemd-sysext reads: the images are placed there instead.
          "--extensions-dir",
          "/etc/extensions",
          "--run",
          "ls /etc/extensions",
          // Generous: two cores shared with the rest of the suite under TCG.
          "--timeout",
          "1500",
          "--json",
        ],
        { env: { PATH: process.env.PATH ?? "" } },
      ),
    );
    expect(r.exitCode, r.stderr).toBe(1);
    const report: BootReport = bootReportSchema.parse(JSON.parse(r.stdout));
    expect(report.outcome).toBe("completed");
    expect(report.os).toMatchObject({ id: "debian", versionId: "12" });
    expect(report.sysext.enabled).toBe("enabled");
    expect(report.sysext.merged.sort()).toEqual(["hello", "typo"]);
    const ext = Object.fromEntries(report.extensions.map((e) => [e.name, e]));
    // hello: merged at boot, its upheld unit started by systemd and ran the tool from the image.
    expect(ext.hello!.merged).toBe(true);
    const hello = ext.hello!.units.find((u) => u.name === "hello.service")!;
    expect(hello.verdict, JSON.stringify(hello)).toBe("active");
    expect(hello.journal.join("\n")).toContain("Hello from a sysext");
    // typo: merged, its unit failed and is named, with systemd's reason (203/EXEC).
    const typo = ext.typo!.units.find((u) => u.name === "typo.service")!;
    expect(typo.verdict).toBe("failed");
    expect(typo.journal.join("\n")).toMatch(
      /missing.*No such file or directory|Failed to locate executable \/usr\/bin\/missing/,
    );
    const typoCheck = report.checks.find((c) => c.subject === "typo.service" && !c.ok)!;
    expect(typoCheck.severity).toBe("error");
    expect(typoCheck.message).toMatch(/^typo\.service: failed/);
    // otherver: not merged, with systemd's own words from the guest.
    expect(ext.otherver!.merged).toBe(false);
    expect(ext.otherver!.reason!.join("\n")).toContain(
      "Extension 'otherver' is for OS '13', but deployed on top of '12'",
    );
    expect(
      report.checks.find((c) => c.id === "extension.merged" && c.subject === "otherver")!.message,
    ).toMatch(/not merged at boot: .*otherver/);
    // Expectations: file found / missing, unit active, commands with exit code and output.
    expect(report.files).toEqual([
      expect.objectContaining({ path: "/usr/share/hello/motd", exists: true, type: "regular file" }),
      { path: "/usr/bin/not-there", exists: false },
    ]);
    expect(report.units[0]).toMatchObject({ name: "systemd-journald.service", verdict: "active" });
    expect(report.runs[0]).toMatchObject({ exitCode: 0, output: "Hello from a sysext\n" });
    expect(report.runs[1]).toMatchObject({ exitCode: 3, output: "to-stderr\n", timedOut: false });
    // No network interface in the guest: only the loopback.
    expect(report.runs[2]!.output.trim()).toBe("lo");
    expect(report.runs[3]!.output.split("\n").filter(Boolean).sort()).toEqual([
      "hello.raw",
      "otherver.raw",
      "typo.raw",
    ]);
    expect(report.guest.network).toBe("none");
    expect(report.timing.bootMs).toBeGreaterThan(0);
    expect(report.timing.analyze).toMatch(/Startup finished/);
    // The human report says the same.
    const text = renderBootReport(report);
    expect(text).toMatch(/^FAIL: Debian GNU\/Linux 12/);
    expect(text).toContain("extension otherver: NOT MERGED");
    expect(text).toMatch(/FAIL typo\.service: failed/);
    // Nothing left behind, base untouched.
    expect(await treeState(root)).toBe(before);
    expect(await bootWorkDirs()).toEqual(dirsBefore);
    expect(await qemuProcesses("sysextkit-boot-")).toEqual(guestsBefore);
  }, 1_800_000);

  it("a qcow2 disk base without systemd-sysext.service enabled is reported as such; the base is not modified", async () => {
    const raw = join(tmp, "disabled.raw");
    const qcow2 = join(tmp, "disabled.qcow2");
    await execa("mkfs.ext4", ["-q", "-F", "-d", root, raw, "2G"]);
    // A Debian base as debootstrap leaves it: neither systemd-sysext.service nor the reload helper enabled
    // (ensure-sysext.service's BindsTo= would pull systemd-sysext.service in).
    for (const unit of ["systemd-sysext.service", "ensure-sysext.service"])
      await execa("debugfs", ["-w", "-R", `rm /etc/systemd/system/sysinit.target.wants/${unit}`, raw]);
    await execa("qemu-img", ["convert", "-O", "qcow2", raw, qcow2]);
    await rm(raw);
    const digest = await sha256(qcow2);
    const { kernel, initrd } = await kernelInRoot(root);
    const report = await oneGuestAtATime(() =>
      bootTest({
        images: [images.hello!],
        base: qcow2,
        kernel,
        ...(initrd ? { initrd } : {}),
        timeoutMs: 1_500_000,
      }),
    );
    expect(report.base.kind).toBe("qcow2");
    expect(report.outcome).toBe("completed");
    expect(report.ok).toBe(false);
    expect(report.sysext.enabled).toBe("disabled");
    const c = report.checks.find((x) => x.id === "sysext.enabled")!;
    expect(c.ok).toBe(false);
    expect(c.message).toContain("systemd-sysext.service is disabled in the base and did not run");
    expect(report.extensions[0]!.merged).toBe(false);
    expect(await sha256(qcow2)).toBe(digest);
  }, 1_800_000);

  it("a guest that hangs is killed at --timeout and reported with its console, leaving nothing behind", async () => {
    const dirsBefore = await bootWorkDirs();
    const guestsBefore = await qemuProcesses("sysextkit-boot-");
    // init=/bin/sh: the guest's "init" waits for input on a serial console that never sends any.
    const r = await oneGuestAtATime(() =>
      cli(["test", images.hello!, "--base", root, "--append", "init=/bin/sh", "--timeout", "40", "--json"], {
        env: { PATH: process.env.PATH ?? "" },
      }),
    );
    expect(r.exitCode, r.stderr).toBe(1);
    const report: BootReport = bootReportSchema.parse(JSON.parse(r.stdout));
    expect(report.outcome).toBe("timeout");
    expect(report.ok).toBe(false);
    const c = report.checks.find((x) => x.id === "boot.completed" && !x.ok);
    expect(c, JSON.stringify(report.checks)).toBeDefined();
    expect(c!.message).toContain("did not finish within 40 s and was killed (it never finished booting)");
    // What the guest printed last: the kernel handed over to the root's /bin/sh.
    expect(report.console.tail.join("\n"), JSON.stringify(report.console)).toMatch(/init|EXT4-fs|sh/);
    expect(renderBootReport(report)).toContain("console (last lines):");
    expect(await bootWorkDirs()).toEqual(dirsBefore);
    expect(await qemuProcesses("sysextkit-boot-")).toEqual(guestsBefore);
  }, 600_000);

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} while the guest runs: QEMU is killed, temporary files removed, the lock released`, async () => {
      await oneGuestAtATime(async () => {
        const dirsBefore = await bootWorkDirs();
        const guestsBefore = await qemuProcesses("sysextkit-boot-", true);
        const child = execa(
          process.execPath,
          [join(REPO, "bin/sysextkit.js"), "test", images.hello!, "--base", root],
          { reject: false, all: true },
        );
        try {
          // Read stderr to the end (closing the pipe early would be another way to end the CLI).
          let seen = "";
          await new Promise<void>((resolve, reject) => {
            child.stderr!.on("data", (d: Buffer) => {
              seen += d.toString();
              if (/test: boot: qemu-system/.test(seen)) resolve();
            });
            void child.then(() => reject(new Error(`the CLI ended before booting: ${seen}`)));
          });
          // QEMU (one process, under the `timeout` that bounds it) runs with its disks in the work directory.
          let guests: string[] = [];
          for (let i = 0; i < 300 && guests.length === 0; i++) {
            guests = (await qemuProcesses("sysextkit-boot-", true)).filter((g) => !guestsBefore.includes(g));
            if (guests.length === 0) await new Promise((r) => setTimeout(r, 200));
          }
          expect(guests.length, seen).toBe(1);
          const workDir = /(\/\S*sysextkit-boot-[^/\s]+)\//.exec(guests[0]!)![1]!;
          expect(await qemuProcesses(workDir)).toHaveLength(2);
          child.kill(signal);
          const r = await child;
          expect(r.signal ?? r.exitCode).toBe(signal);
          // Neither QEMU nor its timeout wrapper is left, the work directory is gone, the lock is free.
          expect(await qemuProcesses(workDir)).toEqual([]);
          expect(await readdir(workDir).catch(() => "gone")).toBe("gone");
          expect(await bootWorkDirs()).toEqual(dirsBefore);
          const key = createHash("sha256")
            .update(await realpath(root))
            .digest("hex")
            .slice(0, 24);
          const lock = await acquireLock(join(tmpdir(), "sysextkit-boot-locks", key));
          await lock.release();
        } finally {
          // A failed expectation must not leave the CLI (and its guest) running into the next test.
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            await child;
          }
        }
      });
    }, 600_000);
  }
});
