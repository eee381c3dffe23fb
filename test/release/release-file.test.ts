// Tests for the extension-release fields (order, binding modes, quoting) and the generated tree entry.
import { describe, expect, it } from "vitest";
import { releaseFields, releaseFileEntry, EXTENSION_RELEASE_DIR } from "../../src/release/release-file.js";
import { parseEnvFile } from "../../src/util/env-file.js";
import { renderEnvFile } from "../../src/util/kv-writer.js";
import { thrown } from "../helpers/errors.js";
import { makeBase, makeSpec } from "./fixtures.js";

const flatcarSpec = makeSpec({
  metadata: {
    displayName: "Microsoft Azure",
    homeUrl: "https://azure.microsoft.com/",
    bugReportUrl: "https://issues.flatcar.org",
  },
});

describe("releaseFields", () => {
  it("writes Flatcar's oem-azure release file in order", () => {
    const fields = releaseFields({
      name: "oem-azure",
      spec: flatcarSpec,
      base: makeBase(),
      version: "2.12.0.4-r2",
    });
    expect(renderEnvFile("test", fields)).toBe(
      [
        "ID=flatcar",
        "VERSION_ID=3815.2.0",
        "ARCHITECTURE=x86-64",
        "EXTENSION_RELOAD_MANAGER=1",
        "SYSEXT_ID=oem-azure",
        'SYSEXT_NAME="Microsoft Azure"',
        "SYSEXT_VERSION_ID=2.12.0.4-r2",
        "SYSEXT_HOME_URL=https://azure.microsoft.com/",
        "SYSEXT_BUG_REPORT_URL=https://issues.flatcar.org",
        "",
      ].join("\n"),
    );
  });

  it("round-trips quoted values through the os-release parser", () => {
    const spec = makeSpec({
      metadata: { displayName: `He said "hi" $HOME \`x\` back\\slash` },
      release: { extra: { ZZ: "a b", AA: "" } },
    });
    const fields = releaseFields({ name: "x", spec, base: makeBase(), version: undefined });
    const parsed = parseEnvFile(renderEnvFile("test", fields));
    expect(parsed.get("SYSEXT_NAME")).toBe(`He said "hi" $HOME \`x\` back\\slash`);
    expect(parsed.get("ZZ")).toBe("a b");
    expect(parsed.get("AA")).toBe("");
    expect(parsed.has("SYSEXT_VERSION_ID")).toBe(false);
    // extra keys come last, sorted
    expect(fields.slice(-2).map(([k]) => k)).toEqual(["AA", "ZZ"]);
  });

  it("binding any writes ID=_any and no version", () => {
    const f = releaseFields({
      name: "x",
      spec: makeSpec({ base: { binding: "any" } }),
      base: makeBase({ versionId: undefined }),
      version: "1",
    });
    expect(f.slice(0, 2)).toEqual([
      ["ID", "_any"],
      ["ARCHITECTURE", "x86-64"],
    ]);
  });

  it("binding sysext-level uses the spec level, else the base level, else fails", () => {
    const spec = makeSpec({ base: { binding: "sysext-level", sysextLevel: "1.2" } });
    expect(releaseFields({ name: "x", spec, base: makeBase(), version: undefined }).slice(0, 3)).toEqual([
      ["ID", "flatcar"],
      ["SYSEXT_LEVEL", "1.2"],
      ["ARCHITECTURE", "x86-64"],
    ]);
    const fromBase = releaseFields({
      name: "x",
      spec: makeSpec({ base: { binding: "sysext-level" } }),
      base: makeBase({ sysextLevel: "7" }),
      version: undefined,
    });
    expect(fromBase).toContainEqual(["SYSEXT_LEVEL", "7"]);
    expect(fromBase.map(([k]) => k)).not.toContain("VERSION_ID");
    expect(() =>
      releaseFields({
        name: "x",
        spec: makeSpec({ base: { binding: "sysext-level" } }),
        base: makeBase(),
        version: undefined,
      }),
    ).toThrow(/SYSEXT_LEVEL/);
  });

  it("strict binding without a base VERSION_ID is BASE_INVALID with a hint", () => {
    const e = thrown(
      () =>
        releaseFields({
          name: "x",
          spec: makeSpec(),
          base: makeBase({ versionId: undefined }),
          version: undefined,
        }),
      "BASE_INVALID",
    );
    expect(e.hint).toMatch(/sysext-level|binding/);
  });

  it("writes scope, units and SYSEXT_ID from metadata; reloadManager false omits the key", () => {
    const spec = makeSpec({
      metadata: { id: "azure" },
      release: {
        reloadManager: false,
        scope: ["system", "initrd"],
        restartUnits: ["a.service", "b.service"],
        reloadOrRestartUnits: ["c.service"],
      },
    });
    const f = releaseFields({
      name: "oem-azure",
      spec,
      base: makeBase({ arch: "arm64" }),
      version: undefined,
    });
    expect(f).toEqual([
      ["ID", "flatcar"],
      ["VERSION_ID", "3815.2.0"],
      ["ARCHITECTURE", "arm64"],
      ["SYSEXT_SCOPE", "system initrd"],
      ["EXTENSION_RESTART_UNITS", "a.service b.service"],
      ["EXTENSION_RELOAD_OR_RESTART_UNITS", "c.service"],
      ["SYSEXT_ID", "azure"],
    ]);
  });

  it("refuses extra keys that override generated ones", () => {
    expect(() =>
      releaseFields({
        name: "x",
        spec: makeSpec({ release: { extra: { VERSION_ID: "1" } } }),
        base: makeBase(),
        version: undefined,
      }),
    ).toThrow(/release\.extra may not set VERSION_ID/);
  });
});

describe("releaseFileEntry", () => {
  it("is a 0644 file at the right path with the formatted content", () => {
    const e = releaseFileEntry(
      "oem-azure",
      [
        ["ID", "flatcar"],
        ["SYSEXT_NAME", "A B"],
      ],
      false,
    );
    expect(e.path).toBe(`${EXTENSION_RELEASE_DIR}/extension-release.oem-azure`);
    expect(e.mode).toBe(0o644);
    expect(e.xattrs).toBeUndefined();
    expect(e.content.kind).toBe("bytes");
    const text = e.content.kind === "bytes" ? new TextDecoder().decode(e.content.data) : "";
    expect(text).toBe('ID=flatcar\nSYSEXT_NAME="A B"\n');
    expect(e.size).toBe(text.length);
  });

  it("sets user.extension-release.strict=0 for nonStrictName", () => {
    expect(releaseFileEntry("x", [["ID", "_any"]], true).xattrs).toEqual({
      "user.extension-release.strict": "0",
    });
  });
});
