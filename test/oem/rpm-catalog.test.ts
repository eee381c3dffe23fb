// Integration: catalog extensions built with --var input=rpm from real Debian agent packages converted by alien --to-rpm.
import { execa } from "execa";
import { copyFile, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debianArch } from "../../src/base/arch.js";
import { readBase, type BaseRelease } from "../../src/base/base.js";
import { buildExtension, type BuildResult } from "../../src/build.js";
import { CATALOG_DIR } from "../../src/manifest/release-spec.js";
import { loadSpecFile } from "../../src/spec/load.js";
import { defaultCacheDir } from "../../src/util/cache.js";
import { withLock } from "../../src/util/lock.js";
import { debPackagesOf, downloadDebs } from "../../examples/debian-bookworm/debs.js";
import { ensureRoot } from "../../scripts/roots.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";

const EXTENSIONS = ["oem-vmware", "oem-gce"];
needRoot();
await needTools(
  "alien",
  "rpm",
  "rpmbuild",
  "debootstrap",
  "mksquashfs",
  "systemd-sysext",
  "unshare",
  "chroot",
);

let tmp: string;
let baseRoot: string;
let base: BaseRelease;
const built = new Map<string, BuildResult>();

/** `alien --to-rpm --scripts` of one .deb, cached next to the .deb cache (alien takes seconds per package). */
async function alienRpm(deb: string, cache: string): Promise<string> {
  const dir = join(cache, basename(deb, ".deb"));
  const have = await readdir(dir).catch(() => [] as string[]);
  const rpm = have.find((n) => n.endsWith(".rpm"));
  if (rpm) return join(dir, rpm);
  const work = await mkdtemp(join(cache, ".work-"));
  try {
    await execa("alien", ["--to-rpm", "--keep-version", "--scripts", deb], { cwd: work });
    const [made] = (await readdir(work)).filter((n) => n.endsWith(".rpm"));
    if (!made) throw new Error(`alien made no .rpm of ${deb}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    await rename(join(work, made), join(dir, made));
    return join(dir, made);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

describe("catalog extensions from RPM packages (alien-converted Debian agents)", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-rpm-catalog-"));
    const cache = defaultCacheDir();
    baseRoot = await ensureRoot("bookworm-systemd");
    base = await readBase({ path: baseRoot });
    const debArch = debianArch(base.arch);
    for (const name of EXTENSIONS) {
      const spec = await loadSpecFile(join(CATALOG_DIR, name, "extension.yaml"));
      const debs = await downloadDebs(debPackagesOf([spec]), join(cache, "debs", debArch), debArch);
      const rpmDir = join(tmp, "rpms", name);
      await mkdir(rpmDir, { recursive: true });
      const alienCache = join(cache, "alien", debArch);
      await mkdir(alienCache, { recursive: true });
      await withLock(
        alienCache,
        async () => {
          for (const deb of debs) {
            const rpm = await alienRpm(deb, alienCache);
            await copyFile(rpm, join(rpmDir, basename(rpm)));
          }
        },
        { waitMs: 20 * 60_000, what: `alien cache ${alienCache}` },
      );
      const r = await buildExtension({
        spec,
        base,
        outDir: join(tmp, "out"),
        vars: { input: "rpm", rpmDir, rpmNames: "fedora" },
      });
      built.set(name, r);
    }
  }, 1_200_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("builds from the rpm input: versioned from the main package, bound to the base, findings reported", () => {
    for (const r of built.values()) {
      expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
      expect(r.release.ID).toBe("debian");
      expect(r.release.VERSION_ID).toBe(base.versionId);
      // A Debian root has no rpm database: the check says so instead of passing silently.
      expect(r.findings.find((f) => f.code === "rpm-dependencies")?.message).toContain("no rpm database");
      expect(r.findings.some((f) => f.code === "rpm-config")).toBe(true);
    }
    expect(built.get("oem-vmware")!.version).toMatch(/^12\.\d+\.\d+-/);
    expect(built.get("oem-gce")!.version).toMatch(/^2021/);
    const scripts = built
      .get("oem-vmware")!
      .findings.filter((f) => f.code === "rpm-scriptlet")
      .map((f) => f.message)
      .join("\n");
    expect(scripts).toContain("open-vm-tools");
  });

  it("merges with systemd-sysext and the agents run in the root", async () => {
    const root = await mkdtemp(join(tmp, "root-"));
    await execa("cp", ["-a", `${baseRoot}/.`, root]);
    const step = (name: string, command: string) =>
      `echo "== ${name}"; timeout -s KILL 60 chroot "$ROOT" ${command} 2>&1 </dev/null; echo "rc=$?"`;
    const r = await mergeInScratchRoot({
      root,
      images: [...built.values()].map((b) => ({ file: b.image, as: `${b.name}.raw` })),
      script: [
        'mount -t proc proc "$ROOT/proc"',
        step("ldd", "ldd /usr/bin/vmtoolsd /usr/bin/VGAuthService"),
        step("vmtoolsd", "env LD_BIND_NOW=1 LD_DEBUG=files /usr/bin/vmtoolsd --version"),
        step("vgauth", "VGAuthService -h"),
        step("gce", "google_guest_agent --version"),
        step("release", "ls /usr/lib/extension-release.d"),
        'umount "$ROOT/proc"',
      ].join("\n"),
    });
    await rm(root, { recursive: true, force: true });
    expect(r.exitCode, r.mergeOutput).toBe(0);
    const s = new Map(
      r.output
        .split(/^== /m)
        .slice(1)
        .map((part) => [part.slice(0, part.indexOf("\n")), part.slice(part.indexOf("\n") + 1)]),
    );
    expect(s.get("ldd")).toContain("libvmtools.so.0 =>");
    expect(s.get("ldd")).not.toContain("not found");
    expect(s.get("vmtoolsd")).toContain("transferring control: /usr/bin/vmtoolsd");
    expect(s.get("vmtoolsd")).not.toContain("error while loading shared libraries");
    expect(s.get("vgauth")).toContain("Usage: VGAuthService");
    expect(s.get("gce")).toContain("google_guest_agent install");
    expect(s.get("release")).toContain("extension-release.oem-vmware");
    expect(s.get("release")).toContain("extension-release.oem-gce");
  });
});
