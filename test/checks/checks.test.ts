// Tests for every check rule (positive and negative) and the tree repairs runChecks makes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flagAdvice, runChecks, type CheckContext, type Finding } from "../../src/checks/index.js";
import { releaseFileEntry } from "../../src/release/release-file.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import type { TreeEntry } from "../../src/tree/types.js";
import { makeBase, makeSpec } from "../release/fixtures.js";

const O = "test";
const file = (path: string, mode = 0o644, extra: Partial<TreeEntry> = {}): TreeEntry =>
  ({
    type: "file",
    path,
    mode,
    size: 1,
    content: { kind: "bytes", data: new Uint8Array([10]) },
    origin: O,
    ...extra,
  }) as TreeEntry;
const dir = (path: string, mode = 0o755, extra: Partial<TreeEntry> = {}): TreeEntry =>
  ({ type: "dir", path, mode, origin: O, ...extra }) as TreeEntry;

function ctx(over: { drop?: string[]; mergedSbin?: boolean | undefined } = {}): CheckContext {
  return {
    name: "t",
    spec: makeSpec({ name: "t", drop: over.drop ?? [] }),
    base: makeBase({ mergedSbin: over.mergedSbin }),
  };
}

/** A valid extension: release file plus one binary. */
function good(
  release: ReadonlyArray<readonly [string, string]> = [
    ["ID", "flatcar"],
    ["VERSION_ID", "1"],
    ["ARCHITECTURE", "x86-64"],
  ],
): TreeBuilder {
  const b = new TreeBuilder();
  b.add(releaseFileEntry("t", release, false));
  b.add(file("usr/bin/tool", 0o755));
  return b;
}

const codes = (f: Finding[]): string[] => f.map((x) => `${x.severity}:${x.code}`);

describe("runChecks", () => {
  it("a valid extension has no findings", () => {
    expect(runChecks(good(), ctx())).toEqual([]);
  });

  it("outside-usr-opt: one error per top-level path; opt/ is fine", () => {
    const b = good();
    b.add(file("etc/foo.conf"));
    b.add(file("etc/bar/baz"));
    b.add(file("var/lib/x"));
    b.add(file("opt/app/bin"));
    const f = runChecks(b, ctx());
    expect(codes(f)).toEqual(["error:outside-usr-opt", "error:outside-usr-opt"]);
    expect(f.map((x) => x.path)).toEqual(["etc", "var"]);
    expect(f[0]?.hint).toMatch(/drop/);
  });

  // Defect: the error said "etc/ (6 entries)" without naming them.
  it("outside-usr-opt names the entries: the first 20, then how many more", () => {
    const b = good();
    for (let i = 0; i < 23; i++) b.add(file(`etc/app/conf-${String(i).padStart(2, "0")}`));
    b.add(dir("etc/empty.d"));
    b.add(file("var/lib/x"));
    const f = runChecks(b, ctx());
    expect(f[0]?.message).toBe(
      `etc/ (24 entries: ${Array.from({ length: 20 }, (_, i) => `etc/app/conf-${String(i).padStart(2, "0")}`).join(", ")} and 4 more) is outside usr/ and opt/; systemd-sysext silently ignores it`,
    );
    expect(f[1]?.message).toBe(
      "var/ (1 entry: var/lib/x) is outside usr/ and opt/; systemd-sysext silently ignores it",
    );
    expect(f[0]?.hint).toMatch(/list "etc\/\*\*" under drop/);
  });

  it("hints name a command-line flag instead of spec fields when the build has no spec", () => {
    const b = good();
    b.add(file("etc/foo.conf"));
    b.add(file("usr/lib/os-release"));
    const f = runChecks(b, { ...ctx(), advice: flagAdvice("--exclude") });
    expect(f.map((x) => x.hint)).toEqual([
      "relocate it below usr/ (e.g. usr/share/...) and link it at runtime, or pass --exclude 'etc/**'",
      "remove usr/lib/os-release (pass --exclude usr/lib/os-release); the extension's identity belongs in usr/lib/extension-release.d",
    ]);
    for (const x of f) expect(x.hint).not.toMatch(/strip\.paths|under drop/);
  });

  it("drop removes matching paths outside usr/opt with an info finding, never usr/", () => {
    const b = good();
    b.add(file("etc/foo.conf"));
    b.add(file("var/cache/a"));
    const f = runChecks(b, ctx({ drop: ["etc/**", "var", "usr/bin/**"] }));
    expect(codes(f)).toEqual(["info:dropped", "info:dropped"]);
    expect(b.has("etc")).toBe(false);
    expect(b.has("var/cache/a")).toBe(false);
    expect(b.has("usr/bin/tool")).toBe(true);
  });

  it("os-release-in-extension for usr/lib/os-release and etc/os-release", () => {
    const b = good();
    b.add(file("usr/lib/os-release"));
    expect(codes(runChecks(b, ctx()))).toEqual(["error:os-release-in-extension"]);
    const c = good();
    c.add(file("etc/os-release"));
    expect(codes(runChecks(c, ctx()))).toContain("error:os-release-in-extension");
    expect(codes(runChecks(good(), ctx()))).not.toContain("error:os-release-in-extension");
  });

  it("usr-sbin-directory: error on merged-sbin bases, warning when unknown, nothing otherwise or for a symlink", () => {
    const b = (): TreeBuilder => {
      const t = good();
      t.add(file("usr/sbin/daemon", 0o755));
      return t;
    };
    expect(codes(runChecks(b(), ctx({ mergedSbin: true })))).toEqual(["error:usr-sbin-directory"]);
    expect(codes(runChecks(b(), ctx({ mergedSbin: undefined })))).toEqual(["warning:usr-sbin-directory"]);
    expect(codes(runChecks(b(), ctx({ mergedSbin: false })))).toEqual([]);
    const link = good();
    link.add({ type: "symlink", path: "usr/sbin", target: "bin", mode: 0o777, origin: O });
    expect(codes(runChecks(link, ctx({ mergedSbin: true })))).toEqual([]);
  });

  it("usr-sbin-symlink: error on bases with a real usr/sbin, warning when unknown", () => {
    const link = (): TreeBuilder => {
      const t = good();
      t.add({ type: "symlink", path: "usr/sbin", target: "bin", mode: 0o777, origin: O });
      return t;
    };
    expect(codes(runChecks(link(), ctx({ mergedSbin: false })))).toEqual(["error:usr-sbin-symlink"]);
    expect(codes(runChecks(link(), ctx({ mergedSbin: undefined })))).toEqual(["warning:usr-sbin-symlink"]);
  });

  it("overlay opaque markers are removed with a warning", () => {
    const b = good();
    b.add(file("usr/share/x/.wh..wh..opq", 0o644));
    b.add(dir("usr/lib/y", 0o755, { xattrs: { "trusted.overlay.opaque": "y", "user.keep": "1" } }));
    b.add(dir("usr/lib/z", 0o755, { xattrs: { "user.overlay.opaque": "y" } }));
    const f = runChecks(b, ctx());
    expect(codes(f)).toEqual(["warning:overlay-opaque", "warning:overlay-opaque", "warning:overlay-opaque"]);
    expect(b.has("usr/share/x/.wh..wh..opq")).toBe(false);
    expect(b.get("usr/lib/y")?.xattrs).toEqual({ "user.keep": "1" });
    expect(b.get("usr/lib/z")?.xattrs).toBeUndefined();
  });

  it("whiteouts (.wh.NAME files and 0:0 char devices) are errors and stay", () => {
    const b = good();
    b.add(file("usr/bin/.wh.bash"));
    b.add({ type: "char", path: "usr/bin/sh", mode: 0o644, devMajor: 0, devMinor: 0, origin: O });
    const f = runChecks(b, ctx());
    expect(codes(f)).toEqual(["error:overlay-whiteout", "error:overlay-whiteout"]);
    expect(f[0]?.message).toMatch(/usr\/bin\/bash/);
  });

  it("device-node warning for real devices and fifos", () => {
    const b = good();
    b.add({ type: "char", path: "usr/lib/null", mode: 0o666, devMajor: 1, devMinor: 3, origin: O });
    b.add({ type: "fifo", path: "usr/lib/pipe", mode: 0o644, origin: O });
    const f = runChecks(b, ctx());
    // a 0666 device is normal: no world-writable finding for devices
    expect(codes(f)).toEqual(["warning:device-node", "warning:device-node"]);
  });

  it("setuid-file and world-writable warnings; sticky dirs and symlinks are fine", () => {
    const b = good();
    b.add(file("usr/bin/su", 0o4755));
    b.add(file("usr/bin/wall", 0o2755));
    b.add(file("usr/share/open", 0o666));
    b.add(dir("usr/share/tmp", 0o1777));
    b.add({ type: "symlink", path: "usr/bin/l", target: "tool", mode: 0o777, origin: O });
    const f = runChecks(b, ctx());
    expect(f.map((x) => `${x.code}:${x.path}`)).toEqual([
      "setuid-file:usr/bin/su",
      "setuid-file:usr/bin/wall",
      "world-writable:usr/share/open",
    ]);
    expect(f.find((x) => x.path === "usr/bin/wall")?.message).toMatch(/setgid/);
  });

  it("empty-extension when only the release file is left", () => {
    const b = new TreeBuilder();
    b.add(releaseFileEntry("t", [["ID", "_any"]], false));
    b.add(dir("usr/share/empty"));
    expect(codes(runChecks(b, ctx()))).toEqual(["error:empty-extension"]);
    b.add({ type: "symlink", path: "usr/bin/x", target: "/usr/bin/true", mode: 0o777, origin: O });
    expect(codes(runChecks(b, ctx()))).toEqual([]);
  });

  it("release-name-mismatch: missing, misnamed or extra files", () => {
    const missing = new TreeBuilder();
    missing.add(file("usr/bin/tool", 0o755));
    expect(codes(runChecks(missing, ctx()))).toEqual(["error:release-name-mismatch"]);
    const misnamed = new TreeBuilder();
    misnamed.add(releaseFileEntry("other", [["ID", "_any"]], false));
    misnamed.add(file("usr/bin/tool", 0o755));
    const f = runChecks(misnamed, ctx());
    expect(codes(f)).toEqual(["error:release-name-mismatch"]);
    expect(f[0]?.message).toMatch(/extension-release\.other/);
    const extra = good();
    extra.add(releaseFileEntry("t2", [["ID", "_any"]], false));
    expect(codes(runChecks(extra, ctx()))).toEqual(["error:release-name-mismatch"]);
  });

  it("name-version-separator info for names with _ or +, unless nonStrictName", () => {
    const b = new TreeBuilder();
    b.add(releaseFileEntry("my_ext", [["ID", "_any"]], false));
    b.add(file("usr/bin/tool", 0o755));
    const c: CheckContext = { name: "my_ext", spec: makeSpec({ name: "my_ext" }), base: makeBase() };
    expect(codes(runChecks(b, c))).toEqual(["info:name-version-separator"]);
    const ns: CheckContext = { ...c, spec: makeSpec({ name: "my_ext", release: { nonStrictName: true } }) };
    expect(runChecks(b, ns)).toEqual([]);
  });

  it("release directory as a symlink is refused", () => {
    const b = new TreeBuilder();
    b.add(file("usr/bin/tool", 0o755));
    b.add({ type: "symlink", path: "usr/lib/extension-release.d", target: "/etc", mode: 0o777, origin: O });
    expect(codes(runChecks(b, ctx()))).toEqual(["error:release-dir-not-directory"]);
  });

  it("architecture-spelling: x86_64 is an error with the fix in the hint; _any and absent are fine", () => {
    const f = runChecks(
      good([
        ["ID", "flatcar"],
        ["ARCHITECTURE", "x86_64"],
      ]),
      ctx(),
    );
    expect(codes(f)).toEqual(["error:architecture-spelling"]);
    expect(f[0]?.hint).toMatch(/ARCHITECTURE=x86-64/);
    expect(
      runChecks(
        good([
          ["ID", "flatcar"],
          ["ARCHITECTURE", "_any"],
        ]),
        ctx(),
      ),
    ).toEqual([]);
    expect(runChecks(good([["ID", "flatcar"]]), ctx())).toEqual([]);
    expect(
      codes(
        runChecks(
          good([
            ["ID", "flatcar"],
            ["ARCHITECTURE", "bogus"],
          ]),
          ctx(),
        ),
      ),
    ).toEqual(["error:architecture-spelling"]);
  });

  it("release-missing-id and release-file-invalid, reading a release file from disk", async () => {
    const d = await mkdtemp(join(tmpdir(), "sysextkit-checks-"));
    try {
      const p = join(d, "rel");
      await writeFile(p, "xxxVERSION_ID=1\n");
      const b = new TreeBuilder();
      b.add(file("usr/bin/tool", 0o755));
      b.add(
        file("usr/lib/extension-release.d/extension-release.t", 0o644, {
          size: 7,
          content: { kind: "file", path: p, offset: 3, size: 13 },
        }),
      );
      expect(codes(runChecks(b, ctx()))).toEqual(["error:release-missing-id"]);
      await writeFile(p, "not a key value line\n");
      b.replace(
        file("usr/lib/extension-release.d/extension-release.t", 0o644, {
          size: 21,
          content: { kind: "file", path: p, offset: 0, size: 21 },
        }),
      );
      expect(codes(runChecks(b, ctx()))).toEqual(["error:release-file-invalid"]);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
