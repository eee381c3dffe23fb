// Integration: every catalog extension built from Debian 12 packages, merged into a debootstrap root, agents run.
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debianArch } from "../../src/base/arch.js";
import { readBase, type BaseRelease } from "../../src/base/base.js";
import { buildExtension, type BuildResult } from "../../src/build.js";
import { inspectImage } from "../../src/image/inspect.js";
import { CATALOG_DIR, resolveExtensionFiles } from "../../src/manifest/release-spec.js";
import { checkMerge, hostFromBase, type HostIdentity } from "../../src/release/host-check.js";
import { loadSpecFile } from "../../src/spec/load.js";
import { defaultCacheDir } from "../../src/util/cache.js";
import { debPackagesOf, downloadDebs, ensureBase } from "../../examples/debian-bookworm/debs.js";
import { BASE_INCLUDE } from "../../examples/debian-bookworm/packages.js";
import { cli } from "../helpers/cli.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";

const CATALOG = ["oem-ami", "oem-azure", "oem-gce", "oem-openstack", "oem-qemu", "oem-vmware"];

let tmp: string;
let baseRoot: string;
let base: BaseRelease;
const built = new Map<string, BuildResult>();

/** Run `script` in a throwaway copy of the base root with `images` merged; output split per "== NAME" section. */
async function inMergedCopy(images: string[], script: string): Promise<Map<string, string>> {
  const root = await mkdtemp(join(tmp, "root-"));
  try {
    await execa("cp", ["-a", `${baseRoot}/.`, root]);
    const r = await mergeInScratchRoot({
      root,
      images: images.map((n) => ({ file: built.get(n)!.image, as: `${n}.raw` })),
      script: `mount -t proc proc "$ROOT/proc"\n${script}\numount "$ROOT/proc"`,
    });
    expect(r.exitCode, r.mergeOutput).toBe(0);
    expect(r.scriptExitCode, r.output).toBe(0);
    const sections = new Map<string, string>();
    for (const part of r.output.split(/^== /m).slice(1)) {
      const nl = part.indexOf("\n");
      sections.set(part.slice(0, nl), part.slice(nl + 1));
    }
    return sections;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Shell for one check: "== NAME", the command's output (stdout and stderr), "rc=N" (124: it hung). */
function step(name: string, command: string): string {
  return `echo "== ${name}"; timeout -s KILL 60 chroot "$ROOT" ${command} 2>&1 </dev/null; echo "rc=$?"`;
}

describe("the OEM catalog on a Debian 12 base", () => {
  beforeAll(async () => {
    needRoot();
    await needTools("debootstrap", "apt-get", "dpkg", "mksquashfs", "systemd-sysext", "unshare", "chroot");
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-catalog-"));
    const cache = defaultCacheDir();
    // First run: debootstrap (about a minute or two) and apt-get download; later runs use the cache.
    baseRoot = await ensureBase(join(cache, "bases", "bookworm-systemd"), { include: BASE_INCLUDE });
    base = await readBase({ path: baseRoot });
    const debArch = debianArch(base.arch);
    const debDir = join(cache, "debs", debArch);
    const specs = await Promise.all(
      (await resolveExtensionFiles(undefined, CATALOG_DIR)).map((f) => loadSpecFile(f)),
    );
    await downloadDebs(debPackagesOf(specs), debDir, debArch);
    for (const spec of specs) {
      const r = await buildExtension({ spec, base, outDir: join(tmp, "out"), vars: { debDir } });
      built.set(r.name, r);
    }
  }, 900_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("builds every catalog extension, versioned from its main package, without error findings", () => {
    expect([...built.keys()].sort()).toEqual(CATALOG);
    for (const r of built.values()) {
      expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
      // No relocate rule of a deb build is left unmatched (dir/tar-only rules carry `when`).
      expect(r.findings.filter((f) => f.code === "relocate-unmatched")).toEqual([]);
      expect(r.release.ID).toBe("debian");
      expect(r.release.VERSION_ID).toBe(base.versionId);
    }
    expect(built.get("oem-vmware")!.version).toMatch(/^12\.\d+\.\d+-/);
    expect(built.get("oem-azure")!.version).toMatch(/^2\.\d+/);
    expect(built.get("oem-ami")!.version).toMatch(/^2\.\d+/);
  });

  it("each image merges on its base and not on the same base with another VERSION_ID", async () => {
    const own = hostFromBase(base);
    const other: HostIdentity = { ...own, versionId: `${Number(base.versionId ?? "12") + 1}` };
    for (const r of built.values()) {
      const info = await inspectImage(r.image);
      const input = {
        imageFileName: `${r.name}.raw`,
        releaseFiles: info.releaseFiles,
        release: info.release,
        strictXattr: info.strictXattr,
        systemdVersion: 252,
      };
      expect(checkMerge({ ...input, host: own }).merges, r.name).toBe(true);
      const verdict = checkMerge({ ...input, host: other });
      expect(verdict.merges, r.name).toBe(false);
      expect(verdict.reason).toMatch(/VERSION_ID/);
    }
  });

  it("sysextkit check: exit 0 against the base root, exit 1 against another VERSION_ID", async () => {
    const image = built.get("oem-vmware")!.image;
    const good = await cli(["check", image, "--host", baseRoot, "--systemd", "252"]);
    expect(good.stdout).toMatch(/^merges/);
    expect(good.exitCode).toBe(0);
    const osRelease = join(tmp, "os-release-13");
    await writeFile(osRelease, 'ID=debian\nVERSION_ID="13"\n');
    const bad = await cli(["check", image, "--host", osRelease, "--systemd", "252"]);
    expect(bad.stdout).toMatch(/^does not merge/);
    expect(bad.stdout).toContain("VERSION_ID");
    expect(bad.exitCode).toBe(1);
  });

  it("oem-vmware merged with systemd-sysext: vmtools load and run in the root", async () => {
    const s = await inMergedCopy(
      ["oem-vmware"],
      [
        step("ldd", "ldd /usr/bin/vmtoolsd /usr/bin/VGAuthService /usr/bin/vmhgfs-fuse"),
        // vmtoolsd exits 1 outside VMware; with every symbol bound at load it must still reach main().
        step("vmtoolsd", "env LD_BIND_NOW=1 LD_DEBUG=files /usr/bin/vmtoolsd --version"),
        step("vgauth", "VGAuthService -h"),
        step("hgfs", "vmhgfs-fuse --version"),
        // The setup unit's commands link the configuration into /etc.
        `echo "== setup"; grep '^ExecStart=' "$ROOT/usr/lib/systemd/system/setup-oem-vmware.service" | sed 's/^ExecStart=//' | while read -r c; do chroot "$ROOT" sh -c "$c" || echo "FAILED $c"; done; cat "$ROOT/etc/vmware-tools/tools.conf" >/dev/null && echo linked`,
        step("upholds", "cat /usr/lib/systemd/system/multi-user.target.d/10-oem-vmware.conf"),
        step(
          "units",
          "readlink /usr/lib/systemd/system/vmtoolsd.service /usr/lib/systemd/system/vgauthd.service",
        ),
        step("oem", "cat /usr/share/oem/oem-release"),
      ].join("\n"),
    );
    expect(s.get("ldd")).toContain("libvmtools.so.0 =>");
    expect(s.get("ldd")).not.toContain("not found");
    const vmtoolsd = s.get("vmtoolsd")!;
    expect(vmtoolsd).not.toContain("error while loading shared libraries");
    expect(vmtoolsd).toContain("transferring control: /usr/bin/vmtoolsd");
    expect(s.get("vgauth")).toContain("Usage: VGAuthService");
    expect(s.get("vgauth")).toContain("rc=0");
    expect(s.get("hgfs")).toMatch(/vmhgfs-fuse: version \d/);
    expect(s.get("hgfs")).toContain("rc=0");
    expect(s.get("setup")).not.toContain("FAILED");
    expect(s.get("setup")).toContain("linked");
    expect(s.get("upholds")).toContain("Upholds=vmtoolsd.service vgauthd.service setup-oem-vmware.service");
    expect(s.get("units")).toBe("open-vm-tools.service\nvgauth.service\nrc=0\n");
    expect(s.get("oem")).toContain("ID=vmware\n");
  });

  it("all extensions merged together: each agent starts in the root", async () => {
    const s = await inMergedCopy(
      CATALOG,
      [
        step("waagent", "waagent --version"),
        step("chronyd", "chronyd --version"),
        step("hv_kvp", "hv_kvp_daemon --help"),
        // No --version: it rejects the flag and prints its usage (without arguments it would run).
        step("gce", "google_guest_agent --version"),
        step("oslogin", "ldd /usr/lib/x86_64-linux-gnu/security/pam_oslogin_login.so"),
        step("ebsnvme", "ebsnvme-id --help"),
        step("vmtoolsd", "ldd /usr/bin/vmtoolsd"),
        step("release", "ls /usr/lib/extension-release.d"),
        step("udev", "ls /usr/lib/udev/rules.d"),
      ].join("\n"),
    );
    expect(s.get("waagent")).toMatch(/^WALinuxAgent-\d/m);
    expect(s.get("waagent")).toContain("rc=0");
    expect(s.get("chronyd")).toMatch(/^chronyd \(chrony\) version \d/m);
    expect(s.get("hv_kvp")).toContain("Usage: hv_kvp_daemon");
    expect(s.get("gce")).toContain("google_guest_agent install");
    expect(s.get("oslogin")).not.toContain("not found");
    expect(s.get("ebsnvme")).toContain("usage: ebsnvme-id");
    expect(s.get("ebsnvme")).toContain("rc=0");
    expect(s.get("vmtoolsd")).not.toContain("not found");
    expect(
      s
        .get("release")!
        .split("\n")
        .filter((l) => l.startsWith("extension-release.")),
    ).toEqual(CATALOG.map((n) => `extension-release.${n}`));
    for (const rule of ["60-open-vm-tools.rules", "66-azure-storage.rules", "70-ec2-nvme-devices.rules"])
      expect(s.get("udev")).toContain(rule);
  });
});
