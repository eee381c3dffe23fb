// release.yaml at the library boundary: architecture aliases like --arch, every problem listed at once.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadReleaseSpec } from "../../src/manifest/release-spec.js";
import { parseSpec } from "../../src/spec/load.js";
import { rejection, thrown } from "../helpers/errors.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sysextkit-release-spec-lib-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = async (name: string, text: string) => {
  const f = join(dir, name);
  await writeFile(f, text);
  return f;
};

describe("release.yaml", () => {
  // Defect: `architectures: [amd64]` was refused although `--arch amd64` works.
  it("accepts the architecture aliases --arch takes, normalised to systemd's names", async () => {
    const f = await file("aliases.yaml", "architectures: [amd64, aarch64, x86_64, arm64, armhf]\n");
    const { spec } = await loadReleaseSpec(f);
    expect(spec.architectures).toEqual(["x86-64", "arm64", "x86-64", "arm64", "arm"]);
  });

  // Defect: only the first problem was reported.
  it("lists every problem at once, each with its line and field", async () => {
    const f = await file(
      "many.yaml",
      "base: ./os-release\narchs: [x86-64]\narchitectures: [x86_65]\ncompressed: zst\nbaseUrl: not a url\n",
    );
    const e = await rejection(loadReleaseSpec(f), "RELEASE_INVALID");
    expect(e.location).toMatchObject({ file: f, line: 2, field: "archs" });
    expect(e.message).toMatch(/archs: unknown field 'archs'/);
    expect(e.message).toMatch(/also line 3: architectures\[0\]: must be an architecture/);
    expect(e.message).toMatch(/also line 4: compressed:/);
    expect(e.message).toMatch(/also line 5: baseUrl:/);
    expect(e.details).toHaveLength(4);
    expect(e.describe()).toMatch(/hint: /);
  });
});

describe("extension.yaml", () => {
  it("lists every problem at once, each with its line and field", () => {
    const e = thrown(
      () =>
        parseSpec(
          "name: x\nmetadata:\n  displayname: X\narchitectures: [amd64, sparc99]\nimage:\n  format: zip\n",
          "/s/extension.yaml",
        ),
      "SPEC_INVALID",
    );
    expect(e.location).toMatchObject({ line: 3, field: "metadata.displayname" });
    expect(e.message).toMatch(/also line 4: architectures\[1\]/);
    expect(e.message).toMatch(/also line 6: image.format/);
    expect(e.details).toHaveLength(3);
  });

  it("accepts architecture aliases too", () => {
    const { spec } = parseSpec("name: x\narchitectures: [amd64, aarch64]\n", "/s/extension.yaml");
    expect(spec.architectures).toEqual(["x86-64", "arm64"]);
  });
});
