// End-to-end builds through the library: real images merged by the real systemd-sysext, refused elsewhere.
import { execa } from "execa";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { buildExtension, hostArch, loadSpecFile, readBase, type BuildResult } from "../../src/index.js";
import { REPO } from "../helpers/cli.js";
import { rejection } from "../helpers/errors.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";

const arch = hostArch();
const otherArch = arch === "x86-64" ? "arm64" : "x86-64";

async function baseFile(dir: string, fields: Record<string, string>): Promise<string> {
  const file = join(dir, `os-release-${Object.values(fields).join("-")}`);
  await writeFile(
    file,
    Object.entries(fields)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  return file;
}

describe.each(["squashfs", "erofs"] as const)("build %s from examples/hello", (format) => {
  let dir: string;
  let result: BuildResult;

  beforeAll(async () => {
    needRoot();
    await needTools("mksquashfs", "unsquashfs", "mkfs.erofs", "systemd-sysext", "systemd-dissect", "unshare");
    dir = await mkdtemp(join(tmpdir(), "sysextkit-build-test-"));
    const spec = await loadSpecFile(join(REPO, "examples/hello/extension.yaml"));
    const base = await readBase({ path: await baseFile(dir, { ID: "testos", VERSION_ID: "1.2.3" }), arch });
    result = await buildExtension({ spec, base, outDir: join(dir, "out"), format, epoch: 1700000000 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the release file with ID, VERSION_ID and ARCHITECTURE", () => {
    expect(result.release).toMatchObject({
      ID: "testos",
      VERSION_ID: "1.2.3",
      ARCHITECTURE: arch,
      SYSEXT_ID: "hello",
      SYSEXT_NAME: "Hello sysext",
      SYSEXT_VERSION_ID: "1.0.0",
      EXTENSION_RELOAD_MANAGER: "1",
    });
    expect(result.size % 4096).toBe(0);
    expect(result.image).toBe(join(dir, "out", "hello.raw"));
  });

  it("is described by systemd-dissect as a system extension with our release keys", async () => {
    const r = await execa("systemd-dissect", [result.image]);
    expect(r.stdout).toContain("ID=testos");
    expect(r.stdout).toContain("VERSION_ID=1.2.3");
    expect(r.stdout).toContain(`ARCHITECTURE=${arch}`);
    expect(r.stdout).toMatch(/✓ extension for system|\+ extension for system/);
  });

  it("merges on the same release and makes the files appear", async () => {
    const r = await mergeInScratchRoot({
      images: [{ file: result.image, as: "hello.raw" }],
      host: { osRelease: { ID: "testos", VERSION_ID: "1.2.3" } },
      script:
        'cat "$ROOT/usr/share/hello/motd"; cat "$ROOT/usr/lib/systemd/system/multi-user.target.d/10-hello.conf"; test -x "$ROOT/usr/bin/hello" && echo EXEC_OK',
    });
    expect(r.mergeOutput).toContain("Merged extensions");
    expect(r.output).toContain("Hello from a sysext");
    expect(r.output).toContain("Upholds=hello.service");
    expect(r.output).toContain("EXEC_OK");
  });

  it.each([
    ["another VERSION_ID", { ID: "testos", VERSION_ID: "1.2.4" }],
    ["another ID", { ID: "otheros", VERSION_ID: "1.2.3" }],
  ])("is refused on %s", async (_label, osRelease) => {
    const r = await mergeInScratchRoot({
      images: [{ file: result.image, as: "hello.raw" }],
      host: { osRelease },
      script: 'test -e "$ROOT/usr/share/hello/motd" && echo PRESENT || echo ABSENT',
    });
    expect(r.output).toContain("ABSENT");
    expect(r.mergeOutput).not.toContain("Merged extensions");
  });

  it("is refused on another architecture", async () => {
    const spec = await loadSpecFile(join(REPO, "examples/hello/extension.yaml"));
    const base = await readBase({
      path: await baseFile(dir, { ID: "testos", VERSION_ID: "1.2.3" }),
      arch: otherArch,
    });
    const other = await buildExtension({ spec, base, outDir: join(dir, "other"), format, epoch: 1700000000 });
    expect(other.release.ARCHITECTURE).toBe(otherArch);
    const r = await mergeInScratchRoot({
      images: [{ file: other.image, as: "hello.raw" }],
      host: { osRelease: { ID: "testos", VERSION_ID: "1.2.3" } },
      script: 'test -e "$ROOT/usr/share/hello/motd" && echo PRESENT || echo ABSENT',
    });
    expect(r.output).toContain("ABSENT");
  });

  it("leaves nothing but the image in the output directory", async () => {
    expect(await readdir(join(dir, "out"))).toEqual(["hello.raw"]);
  });
});

describe("errors of a source", () => {
  it("name the spec file and the source's field, and leave no output", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sysextkit-build-err-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const specFile = join(dir, "extension.yaml");
    await writeFile(
      specFile,
      [
        "name: err",
        "sources:",
        "  - { type: file, path: usr/share/err/ok, content: ok }",
        "  - { type: symlink, path: /, target: usr }",
        "",
      ].join("\n"),
    );
    const e = await rejection(
      buildExtension({
        spec: await loadSpecFile(specFile),
        base: await readBase({ path: await baseFile(dir, { ID: "testos", VERSION_ID: "1" }), arch }),
        outDir: join(dir, "out"),
      }),
      "SOURCE_INVALID",
    );
    expect(e.location).toMatchObject({ file: specFile, field: "sources[1].path" });
    expect(e.hint).toBeTruthy();
    expect(await readdir(join(dir, "out")).catch(() => [])).toEqual([]);
  });
});
