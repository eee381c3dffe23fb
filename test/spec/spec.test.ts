// The spec boundary: YAML errors with lines and fields, strict validation, defaults, variables, JSON Schema.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parseSpec } from "../../src/spec/load.js";
import { extensionJsonSchema } from "../../src/spec/schema.js";
import { interpolate, interpolateSource, resolveVars, sourceApplies } from "../../src/spec/vars.js";
import { thrown } from "../helpers/errors.js";

const specError = (text: string) => thrown(() => parseSpec(text, "/specs/extension.yaml"));

describe("extension.yaml validation", () => {
  it("fills defaults and freezes the result", () => {
    const { spec, dir } = parseSpec("name: oem-x\n", "/specs/extension.yaml");
    expect(dir).toBe("/specs");
    expect(spec.base.binding).toBe("strict");
    expect(spec.release.reloadManager).toBe(true);
    expect(spec.image.format).toBe("squashfs");
    expect(Object.isFrozen(spec.release)).toBe(true);
  });

  it("names file, line and field for an unknown key", () => {
    const e = specError("name: x\nmetadata:\n  displayname: X\n");
    expect(e.code).toBe("SPEC_INVALID");
    expect(e.location).toMatchObject({
      file: "/specs/extension.yaml",
      line: 3,
      field: "metadata.displayname",
    });
    expect(e.hint).toBeTruthy();
  });

  it("does not coerce types: a number where a string is expected is an error", () => {
    const e = specError(
      "name: x\nsources:\n  - type: file\n    path: usr/share/x\n    content: hi\n    mode: 0644\n",
    );
    expect(e.location).toMatchObject({ line: 6, field: "sources[0].mode" });
    const e2 = specError('name: x\nrelease:\n  reloadManager: "yes"\n');
    expect(e2.location?.field).toBe("release.reloadManager");
  });

  it("refuses unknown architecture names, with systemd's spelling in the message", () => {
    const e = specError("name: x\narchitectures: [x86_65]\n");
    expect(e.message).toContain("x86-64");
    expect(e.location?.line).toBe(2);
  });

  it("reports malformed YAML with its line", () => {
    const e = specError("name: x\nsources:\n  - type: file\n   path: bad-indent\n");
    expect(e.code).toBe("SPEC_YAML");
    expect(e.location?.line).toBeGreaterThan(1);
  });

  it("refuses duplicate keys and a file source with both content and from", () => {
    expect(specError("name: x\nname: y\n").code).toBe("SPEC_YAML");
    expect(
      specError("name: x\nsources:\n  - { type: file, path: a, content: b, from: c }\n").message,
    ).toMatch(/exactly one/);
  });

  it("refuses a services.target that is not a unit name (it names a directory in the image)", () => {
    const e = specError("name: x\nservices:\n  target: ../../../../etc/evil.target\n");
    expect(e.code).toBe("SPEC_INVALID");
    expect(e.location).toMatchObject({ line: 3, field: "services.target" });
  });

  it("the committed JSON Schema is current", async () => {
    const committed = JSON.parse(
      await readFile(new URL("../../schema/extension.schema.json", import.meta.url), "utf8"),
    ) as unknown;
    expect(committed).toEqual(extensionJsonSchema());
  });
});

describe("variables", () => {
  const { spec } = parseSpec(
    "name: x\nvars:\n  input: deb\n  debDir: ${specDir}/debs\nsources:\n  - { type: directory, path: '${debDir}/x', when: { input: [deb, dir] } }\n  - { type: tar, path: a.tar, when: { input: tar } }\n",
    "/s/extension.yaml",
  );
  const builtins = { name: "x", specDir: "/s", arch: "x86-64" };

  it("interpolates spec vars from builtins and lets --var override them", () => {
    const vars = resolveVars(spec, builtins, { input: "tar" });
    expect(vars.debDir).toBe("/s/debs");
    expect(vars.input).toBe("tar");
    expect(sourceApplies(spec.sources[0]!, vars)).toBe(false);
    expect(sourceApplies(spec.sources[1]!, vars)).toBe(true);
    expect(interpolateSource(spec.sources[0]!, vars, 0)).toMatchObject({ path: "/s/debs/x" });
  });

  it("refuses unknown variables and overriding builtins", () => {
    expect(() => interpolate("${nope}", {}, "sources[0].path")).toThrow(/unknown variable/);
    expect(() => resolveVars(spec, builtins, { arch: "arm64" })).toThrow(/builtin/);
    expect(interpolate("cost $$5", {}, "f")).toBe("cost $5");
  });
});
