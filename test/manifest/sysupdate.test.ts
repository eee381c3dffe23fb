// sysupdate names, patterns and files: the pattern matcher follows sysupdate's first-occurrence rule, files parse back.
import { describe, expect, it } from "vitest";
import {
  extensionPattern,
  extensionUpdateVersion,
  isSysupdateVersion,
  matchPattern,
  osImageName,
  publishedImageName,
  stagePattern,
  sysupdateFiles,
} from "../../src/manifest/sysupdate.js";

/** Parse systemd INI text into section -> [key, value][] (comments and blank lines dropped). */
function parseIni(text: string): Record<string, Array<[string, string]>> {
  const out: Record<string, Array<[string, string]>> = {};
  let section = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) out[(section = m[1]!)] = [];
    else {
      const eq = line.indexOf("=");
      out[section]!.push([line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return out;
}

describe("OS-bound names and patterns", () => {
  const host = { arch: "x86-64", osVersion: "4081.2.0" };
  it("a host reads the extension version only from images of its own OS release", () => {
    const p = extensionPattern("oem-x");
    expect(matchPattern(p, publishedImageName("oem-x", "4081.2.0", "1.1", "x86-64"), host)).toBe("1.1");
    expect(matchPattern(p, publishedImageName("oem-x", "4081.2.0", "1.1-2", "x86-64"), host)).toBe("1.1-2");
    expect(matchPattern(p, publishedImageName("oem-x", "4081.3.0", "1.1", "x86-64"), host)).toBeUndefined();
    expect(matchPattern(p, publishedImageName("oem-x", "4081.2.0", "1.1", "arm64"), host)).toBeUndefined();
    expect(matchPattern(p, publishedImageName("oem-xy", "4081.2.0", "1.1", "x86-64"), host)).toBeUndefined();
    expect(matchPattern(p, osImageName("oem-x", "4081.2.0", "x86-64"), host)).toBeUndefined();
    // The collision the feed refuses: an OS version extending this one by '-' is read as a version.
    expect(matchPattern(p, publishedImageName("oem-x", "4081.2.0-rc1", "1.0", "x86-64"), host)).toBe(
      "rc1-1.0",
    );
  });

  it("the staging pattern reads the OS version, and only from staging names", () => {
    const s = stagePattern("oem-x");
    expect(matchPattern(s, osImageName("oem-x", "4081.3.0", "x86-64"), host)).toBe("4081.3.0");
    expect(matchPattern(s, publishedImageName("oem-x", "4081.3.0", "1.1", "x86-64"), host)).toBeUndefined();
    // sysupdate takes @v up to the FIRST occurrence of the literal after it.
    expect(matchPattern("a-@v-b.raw", "a-1-b.raw-b.raw", host)).toBeUndefined(); // a greedy match would say 1-b.raw
    expect(matchPattern("a-@v-b.raw", "a-1-b-2-b.raw", host)).toBe("1-b-2");
    expect(matchPattern("a-@v.raw", "a-1.2.raw", host)).toBe("1.2");
  });

  it("extension versions are what sysupdate accepts", () => {
    expect(isSysupdateVersion("1.0+deb12u1")).toBe(true);
    expect(isSysupdateVersion("1:2")).toBe(false);
    expect(isSysupdateVersion("..")).toBe(false);
    expect(extensionUpdateVersion("2:12.2.0-1+deb12u4", "4081.2.0")).toBe("12.2.0-1+deb12u4");
    expect(extensionUpdateVersion("1.2~bpo12+1", "x")).toBe("1.2_bpo12+1");
    expect(extensionUpdateVersion(undefined, "4081.2.0")).toBe("4081.2.0");
    expect(extensionUpdateVersion("1.0", "x")).toBe("1.0");
  });
});

describe("sysupdateFiles", () => {
  it("renders the extension's transfer, the staging transfer, the feature and the source drop-in", () => {
    const files = sysupdateFiles("oem-x", { verify: true, url: "https://updates.example.org/feed" });
    expect(files.map((f) => [f.file, f.systemd])).toEqual([
      ["oem-x.transfer", "257+"],
      ["oem-x.conf", "252-256"],
      ["oem-x.feature", "257+"],
      ["oem-x-stage.transfer", "257+"],
      ["oem-x-stage.conf", "252-256"],
      ["oem-x.source.conf", "all"],
    ]);
    const [own, conf, feature, stage, stageConf, source] = files.map((f) => parseIni(f.text));
    expect(own).toEqual({
      Transfer: [["Verify", "true"]],
      Source: [
        ["Type", "url-file"],
        ["MatchPattern", "oem-x-%w-@v-%a.raw"],
      ],
      Target: [
        ["Type", "regular-file"],
        ["Path", "/opt/extensions/oem-x"],
        ["MatchPattern", "oem-x-%w-@v-%a.raw"],
        ["CurrentSymlink", "/etc/extensions/oem-x_%w_%a.raw"],
        ["InstancesMax", "3"],
      ],
    });
    expect(conf).toEqual(own);
    expect(feature).toEqual({
      Feature: [
        ["Description", "Stage the oem-x system extension for the next OS release"],
        ["Enabled", "false"],
      ],
    });
    expect(stage!.Transfer).toEqual([
      ["Features", "oem-x"],
      ["Verify", "true"],
    ]);
    expect(stage!.Target).toContainEqual(["Path", "/var/lib/extensions"]);
    expect(stage!.Target).toContainEqual(["MatchPattern", "oem-x_@v_%a.raw"]);
    expect(stageConf!.Transfer).toEqual([["Verify", "true"]]);
    expect(source).toEqual({ Source: [["Path", "https://updates.example.org/feed/"]] });
    expect(files.at(-1)!.installAs).toContain("/usr/lib/sysupdate.oem-x.d/oem-x.transfer.d/source.conf");
    // No host, no drop-in; unsigned releases say Verify=false.
    const unsigned = sysupdateFiles("oem-x", { verify: false });
    expect(unsigned.map((f) => f.file)).not.toContain("oem-x.source.conf");
    expect(parseIni(unsigned[0]!.text).Transfer).toEqual([["Verify", "false"]]);
  });

  it("refuses control characters in the update host", () => {
    expect(() => sysupdateFiles("oem-x", { verify: true, url: "https://a\n[Target]" })).toThrow(
      /control character/,
    );
  });
});
