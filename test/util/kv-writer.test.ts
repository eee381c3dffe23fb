// The one writer of generated KEY=value and INI files: every file kind refuses control characters, naming the key.
import { describe, expect, it } from "vitest";
import { sysupdateFiles } from "../../src/manifest/sysupdate.js";
import { writeRelease } from "../../src/manifest/index.js";
import { renderReleaseFile } from "../../src/release/release-file.js";
import { extensionSpecSchema } from "../../src/spec/schema.js";
import { renderTemplate } from "../../src/tree/sources/template.js";
import { renderOemRelease, renderSetupUnit } from "../../src/tree/transform.js";
import { renderEnvFile, renderIni } from "../../src/util/kv-writer.js";
import { rejection, thrown } from "../helpers/errors.js";

const CONTROLS = ["\n", "\r", "\0", "\x1b", "\x7f", "\v"];

describe("util/kv-writer", () => {
  it("writes os-release style lines, quoting only where needed, and keeps TAB", () => {
    expect(
      renderEnvFile("t", [
        ["ID", "flatcar"],
        ["NAME", 'A "b" $c'],
        ["X", "a\tb"],
      ]),
    ).toBe('ID=flatcar\nNAME="A \\"b\\" \\$c"\nX="a\tb"\n');
    expect(
      renderIni(
        "t",
        [
          {
            name: "Unit",
            entries: [
              ["A", "1"],
              ["A", "2"],
            ],
          },
        ],
        ["c"],
      ),
    ).toBe("# c\n\n[Unit]\nA=1\nA=2\n");
  });

  it("refuses every control character in values, comments, keys and section names", () => {
    for (const c of CONTROLS) {
      const e = thrown(() => renderEnvFile("f", [["K", `a${c}b`, "spec.field"]]), "SPEC_INVALID");
      expect(e.message).toMatch(/^f: value of K contains the control character 0x[0-9a-f]{2} at offset 1$/);
      expect(e.location).toEqual({ field: "spec.field" });
      thrown(() => renderIni("f", [{ name: "S", entries: [["K", `a${c}`]] }]), "SPEC_INVALID");
      thrown(() => renderIni("f", [], [`comment${c}`]), "SPEC_INVALID");
    }
    thrown(() => renderEnvFile("f", [["K\nX", "v"]]), "SPEC_INVALID");
    thrown(() => renderIni("f", [{ name: "S]\n[X", entries: [] }]), "SPEC_INVALID");
  });
});

describe("one test per generated file kind", () => {
  it("extension-release", () => {
    expect(
      renderReleaseFile("x", [
        ["ID", "a"],
        ["SYSEXT_NAME", "N"],
      ]),
    ).toBe("ID=a\nSYSEXT_NAME=N\n");
    const e = thrown(() => renderReleaseFile("x", [["SYSEXT_NAME", "N\nID=evil"]]), "SPEC_INVALID");
    expect(e.location?.field).toBe("metadata.displayName");
  });

  it("oem-release (Flatcar's update_engine reads it line by line)", () => {
    const spec = (name: string) => extensionSpecSchema.parse({ name: "oem-qemu", oem: { id: "qemu", name } });
    expect(renderOemRelease(spec("QEMU"), "1.0")).toBe("ID=qemu\nVERSION_ID=1.0\nNAME=QEMU\n");
    const e = thrown(() => renderOemRelease(spec("QEMU\nID=evil")), "SPEC_INVALID");
    expect(e.message).toBe("oem-release: value of NAME contains the control character 0x0a at offset 4");
    expect(e.location?.field).toBe("oem.name");
  });

  it("units and drop-ins (the setup unit for relocated paths)", () => {
    const unit = renderSetupUnit("app", [{ runtimePath: "/etc/app/x", imagePath: "/usr/share/app/x" }], []);
    expect(unit).toContain("\nExecStart=/usr/bin/ln -sfrT /usr/share/app/x /etc/app/x\n");
    const e = thrown(
      () =>
        renderSetupUnit("app", [{ runtimePath: "/etc/app/x\rExecStart=/bin/evil", imagePath: "/usr/x" }], []),
      "SOURCE_INVALID",
    );
    expect(e.message).toMatch(/control character 0x0d/);
  });

  it("sysupdate transfers: a base URL with a line break is refused before anything is written", async () => {
    const source = (url: string) =>
      sysupdateFiles("a", { verify: false, url }).find((f) => f.file === "a.source.conf")!.text;
    expect(source("https://x/")).toMatch(/^Path=https:\/\/x\/$/m);
    const e = thrown(() => source("https://x/\nVerify=false"), "SPEC_INVALID");
    expect(e.location?.field).toBe("sysupdateUrl");
    await rejection(
      writeRelease({
        outDir: "/nonexistent/never-written",
        base: { id: "flatcar", versionId: "1" },
        extensions: [
          { name: "a", arch: "x86-64", image: "/nonexistent.raw", release: {}, nonStrictName: true },
        ],
        keys: [],
        baseUrl: "https://x/\n[Target]\nPath=/",
      }),
      "SPEC_INVALID",
    );
  });

  it("templated units and configuration: a {{ var }} value with a line break is refused, naming the template line", () => {
    const tmpl = "[Unit]\nDescription={{ displayName }}\n\n[Service]\nExecStart=/usr/bin/app\n";
    expect(renderTemplate(tmpl, { displayName: "App\tone" }, "app.service.tmpl")).toContain(
      "Description=App\tone\n",
    );
    for (const c of CONTROLS) {
      const e = thrown(
        () => renderTemplate(tmpl, { displayName: `App${c}ExecStartPre=/bin/evil` }, "app.service.tmpl"),
        "SPEC_INVALID",
      );
      expect(e.message).toMatch(
        /^template app\.service\.tmpl line 2: value of \{\{ displayName \}\} contains the control character/,
      );
      expect(e.location).toEqual({ file: "app.service.tmpl", line: 2 });
    }
  });
});
