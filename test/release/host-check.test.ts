// Tests for the host merge decision across systemd versions (252 .. 258): discovery, file pick, validation order.
import { describe, expect, it } from "vitest";
import {
  baseImageName,
  checkMerge,
  hostFromBase,
  imageNameFromFile,
  pickReleaseFile,
  type MergeCheckInput,
} from "../../src/release/host-check.js";
import { makeBase } from "./fixtures.js";

const host = { id: "flatcar", versionId: "3815.2.0", idLike: [] as string[], arch: "x86-64" as const };
const rel = { ID: "flatcar", VERSION_ID: "3815.2.0", ARCHITECTURE: "x86-64" };

function input(over: Partial<MergeCheckInput> = {}): MergeCheckInput {
  return {
    imageFileName: "oem-azure.raw",
    releaseFiles: ["extension-release.oem-azure"],
    release: rel,
    strictXattr: undefined,
    host,
    systemdVersion: 252,
    ...over,
  };
}

describe("discovery and names", () => {
  it("needs .raw; .sysext.raw is stripped from 255 on", () => {
    expect(imageNameFromFile("a.img", 258)).toBeUndefined();
    expect(imageNameFromFile("a.raw", 252)).toBe("a");
    expect(imageNameFromFile("a.sysext.raw", 252)).toBe("a.sysext");
    expect(imageNameFromFile("a.sysext.raw", 254)).toBe("a.sysext");
    expect(imageNameFromFile("a.sysext.raw", 255)).toBe("a");
    expect(imageNameFromFile(".#a.raw", 258)).toBeUndefined();
    expect(baseImageName("oem-azure_1.2+3")).toBe("oem-azure");
    expect(baseImageName("a+b_c")).toBe("a");
  });

  it("a non-.raw file is not discovered (no abort)", () => {
    const v = checkMerge(input({ imageFileName: "oem-azure.img" }));
    expect(v).toMatchObject({ merges: false, abortsMerge: false });
    expect(v.steps[0]?.rule).toBe("discovery");
  });

  it("x.sysext.raw with extension-release.x: aborts on 252, merges on 255", () => {
    const i = input({ imageFileName: "oem-azure.sysext.raw" });
    expect(checkMerge({ ...i, systemdVersion: 252 })).toMatchObject({ merges: false, abortsMerge: true });
    expect(checkMerge({ ...i, systemdVersion: 254 })).toMatchObject({ merges: false, abortsMerge: true });
    expect(checkMerge({ ...i, systemdVersion: 255 }).merges).toBe(true);
  });

  it("versioned image names: 256+ strips _VERSION and +... before the fallback", () => {
    const i = input({ imageFileName: "oem-azure_3815.2.0+1.raw" });
    for (const v of [252, 255])
      expect(checkMerge({ ...i, systemdVersion: v })).toMatchObject({ merges: false, abortsMerge: true });
    for (const v of [256, 257, 258]) expect(checkMerge({ ...i, systemdVersion: v }).merges).toBe(true);
    // underscores in the name itself are cut as well: "my_ext" looks for extension-release.my on 256+
    const u = input({ imageFileName: "my_ext_1.raw", releaseFiles: ["extension-release.my_ext"] });
    expect(checkMerge({ ...u, systemdVersion: 258 }).abortsMerge).toBe(true);
    expect(checkMerge({ ...u, imageFileName: "my_ext.raw", systemdVersion: 258 }).merges).toBe(true);
  });
});

describe("release file pick (strict xattr fallback)", () => {
  it("exact name wins without looking at xattrs", () => {
    expect(pickReleaseFile("a", ["extension-release.a", "extension-release.b"], undefined, 252).file).toBe(
      "extension-release.a",
    );
  });
  it("a single other file needs user.extension-release.strict false", () => {
    expect(pickReleaseFile("a", ["extension-release.b"], undefined, 252)).toMatchObject({
      file: undefined,
      error: "No medium found",
    });
    expect(pickReleaseFile("a", ["extension-release.b"], "1", 252).file).toBeUndefined();
    expect(pickReleaseFile("a", ["extension-release.b"], "0", 252).file).toBe("extension-release.b");
    expect(pickReleaseFile("a", ["extension-release.b"], "false", 252).file).toBe("extension-release.b");
    expect(pickReleaseFile("a", ["extension-release.b"], "garbage", 252).file).toBeUndefined();
  });
  it("two accepted candidates are ambiguous (ENOTUNIQ); non-accepted ones do not count", () => {
    expect(pickReleaseFile("a", ["extension-release.b", "extension-release.c"], "0", 252)).toMatchObject({
      file: undefined,
      error: "Name not unique on network",
    });
    const perFile = { "extension-release.b": "0", "extension-release.c": undefined };
    expect(pickReleaseFile("a", ["extension-release.b", "extension-release.c"], perFile, 252).file).toBe(
      "extension-release.b",
    );
  });
  it("misnamed + strict 0 merges through checkMerge", () => {
    expect(checkMerge(input({ releaseFiles: ["extension-release.other"], strictXattr: "0" })).merges).toBe(
      true,
    );
    const v = checkMerge(input({ releaseFiles: ["extension-release.other"] }));
    expect(v).toMatchObject({ merges: false, abortsMerge: true });
    expect(v.reason).toMatch(/No medium found/);
  });
});

describe("validation order", () => {
  const cases: Array<[string, Partial<MergeCheckInput>, boolean, string?]> = [
    ["same ID and VERSION_ID", {}, true],
    ["other VERSION_ID", { release: { ...rel, VERSION_ID: "3815.2.1" } }, false, "version-id"],
    [
      "VERSION_ID with build suffix",
      { release: { ...rel, VERSION_ID: "3815.2.0+build" } },
      false,
      "version-id",
    ],
    ["other ID", { release: { ...rel, ID: "debian" } }, false, "id"],
    ["no ID", { release: { VERSION_ID: "3815.2.0" } }, false, "id"],
    ["ID=_any skips versions", { release: { ID: "_any", VERSION_ID: "1" } }, true],
    ["other arch", { release: { ...rel, ARCHITECTURE: "arm64" } }, false, "architecture"],
    ["x86_64 spelling", { release: { ...rel, ARCHITECTURE: "x86_64" } }, false, "architecture"],
    ["ARCHITECTURE=_any", { release: { ...rel, ARCHITECTURE: "_any" } }, true],
    ["no ARCHITECTURE", { release: { ID: "flatcar", VERSION_ID: "3815.2.0" } }, true],
    ["arch is checked before ID", { release: { ID: "_any", ARCHITECTURE: "arm64" } }, false, "architecture"],
    ["scope portable only", { release: { ...rel, SYSEXT_SCOPE: "portable" } }, false, "scope"],
    [
      "scope checked before arch",
      { release: { ...rel, SYSEXT_SCOPE: "portable", ARCHITECTURE: "arm64" } },
      false,
      "scope",
    ],
    ["scope initrd in initrd", { release: { ...rel, SYSEXT_SCOPE: "initrd" }, initrd: true }, true],
    ["default scope not in initrd", { release: { ...rel }, initrd: true }, false, "scope"],
    [
      "host without version",
      { host: { id: "flatcar", idLike: [], arch: "x86-64" }, release: { ID: "flatcar", VERSION_ID: "9" } },
      true,
    ],
    [
      "levels equal, VERSION_ID ignored",
      { host: { ...host, sysextLevel: "2" }, release: { ...rel, VERSION_ID: "0", SYSEXT_LEVEL: "2" } },
      true,
    ],
    [
      "levels differ",
      { host: { ...host, sysextLevel: "2" }, release: { ...rel, SYSEXT_LEVEL: "3" } },
      false,
      "sysext-level",
    ],
    [
      "ext level but host none: VERSION_ID decides",
      { release: { ...rel, VERSION_ID: "1", SYSEXT_LEVEL: "2" } },
      false,
      "version-id",
    ],
    [
      "host level only, ext none: accepted",
      { host: { id: "flatcar", sysextLevel: "2", idLike: [], arch: "x86-64" }, release: { ID: "flatcar" } },
      true,
    ],
    [
      "host level+version, ext none: VERSION_ID decides",
      { host: { ...host, sysextLevel: "2" }, release: { ID: "flatcar", VERSION_ID: "3815.2.0" } },
      true,
    ],
    ["empty release file is ignored", { release: {} }, false, "release-data"],
  ];
  for (const [title, over, merges, rule] of cases) {
    it(title, () => {
      const v = checkMerge(input(over));
      expect(v.merges).toBe(merges);
      expect(v.abortsMerge).toBe(false);
      if (rule) expect(v.steps.at(-1)).toMatchObject({ rule, ok: false });
    });
  }

  it("ID_LIKE matches from 257 on", () => {
    const i = input({
      host: { id: "ubuntu", versionId: "24.04", idLike: ["debian"], arch: "x86-64" },
      release: { ID: "debian", VERSION_ID: "24.04" },
    });
    for (const v of [252, 255, 256]) {
      const r = checkMerge({ ...i, systemdVersion: v });
      expect(r.merges).toBe(false);
      expect(r.reason).toMatch(/257/);
    }
    for (const v of [257, 258]) expect(checkMerge({ ...i, systemdVersion: v }).merges).toBe(true);
  });

  it("usr/lib/os-release in the image aborts the merge before 257, and only drops the image from 257", () => {
    expect(checkMerge(input({ containsOsRelease: true }))).toMatchObject({
      merges: false,
      abortsMerge: true,
    });
    for (const v of [257, 262])
      expect(checkMerge(input({ containsOsRelease: true, systemdVersion: v }))).toMatchObject({
        merges: false,
        abortsMerge: false,
      });
  });
});

describe("hostFromBase", () => {
  it("copies identity fields and omits missing ones", () => {
    expect(hostFromBase(makeBase({ versionId: undefined, idLike: ["coreos"] }))).toEqual({
      id: "flatcar",
      idLike: ["coreos"],
      arch: "x86-64",
    });
    expect(hostFromBase(makeBase({ sysextLevel: "1" }))).toMatchObject({
      versionId: "3815.2.0",
      sysextLevel: "1",
    });
  });
});
