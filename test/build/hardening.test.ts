// Hostile inputs end in ordinary SysextErrors naming what and where, never in a wrong image or an internal error.
import { execa } from "execa";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExtension, hostArch, inspectImage, parseSpec, readBase } from "../../src/index.js";
import { debianArch } from "../../src/base/arch.js";
import type { BaseRelease } from "../../src/base/base.js";
import { LIMITS } from "../../src/util/limits.js";
import { cli } from "../helpers/cli.js";
import { rejection } from "../helpers/errors.js";
import { needTools } from "../helpers/tools.js";
import { packTar } from "../tree/tar-fixtures.js";

const arch = hostArch();
let dir: string;
let base: BaseRelease;
let n = 0;
await needTools("mksquashfs", "unsquashfs", "mkfs.erofs");

/** Build a spec given as YAML text (written to its own directory) into a fresh output directory. */
async function build(yaml: string, format: "squashfs" | "erofs" | "directory" = "squashfs") {
  const specDir = join(dir, `spec-${n++}`);
  await mkdir(specDir, { recursive: true });
  const file = join(specDir, "extension.yaml");
  await writeFile(file, yaml);
  const outDir = join(specDir, "out");
  const run = buildExtension({ spec: parseSpec(yaml, file), base, outDir, format });
  return { run, outDir, specDir, file };
}

/** Nothing was published at the output path. */
async function nothingAt(outDir: string) {
  expect(await readdir(outDir).catch(() => [])).toEqual([]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sysextkit-hardening-"));
  await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=1.0\n");
  base = await readBase({ path: join(dir, "os-release"), arch });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("long names are a clear error per limit, never truncated", () => {
  const tarSpec = (tar: string) => `name: longnames\nsources:\n  - type: tar\n    path: ${tar}\n`;
  const file = (name: string) => ({ header: { name, type: "file" as const, mode: 0o644 }, data: "x\n" });

  it("a tar member with a 5,000-character name is refused, naming the member (was cut to 256)", async () => {
    const long = `usr/share/${"a".repeat(5000)}`;
    const tar = await packTar(dir, "long.tar", [file(long), file(`${long}b`)]);
    const { run, outDir } = await build(tarSpec(tar));
    const e = await rejection(run, "LIMIT_EXCEEDED");
    expect(e.message).toMatch(
      /^"usr\/share\/a{50}a*"\.\.\. \(5010 bytes\) from tar .*long\.tar: the file name .* is 5000 bytes; Linux file names hold at most 255 bytes \(NAME_MAX\)$/,
    );
    expect(e.location?.field).toBe("sources[0]");
    await nothingAt(outDir);
  });

  it("255 bytes per name is taken and read back by unsquashfs; 256 is refused", async () => {
    const okName = `usr/share/${"b".repeat(255)}`;
    const good = await build(tarSpec(await packTar(dir, "n255.tar", [file(okName)])));
    const r = await good.run;
    const { stdout } = await execa("unsquashfs", ["-lc", r.image]);
    expect(stdout.split("\n")).toContain(`squashfs-root/${okName}`);
    const bad = await build(tarSpec(await packTar(dir, "n256.tar", [file(`usr/share/${"b".repeat(256)}`)])));
    expect((await rejection(bad.run, "LIMIT_EXCEEDED")).message).toMatch(/is 256 bytes/);
  });

  it("a path over PATH_MAX is refused; erofs names its staging limit instead of an internal error", async () => {
    const deep = (total: number) => {
      const parts = ["usr"];
      while (parts.join("/").length + 201 < total) parts.push("d".repeat(200));
      const p = parts.join("/");
      return `${p}/${"f".repeat(total - p.length - 1)}`;
    };
    const tooLong = await build(tarSpec(await packTar(dir, "deep5k.tar", [file(deep(4095))])));
    expect((await rejection(tooLong.run, "LIMIT_EXCEEDED")).message).toMatch(/is a 4095-byte path/);
    // 4094 bytes fit the image; staged below the build's work directory for mkfs.erofs they cannot.
    const tar = await packTar(dir, "deep4k.tar", [file(deep(4094))]);
    const sq = await (await build(tarSpec(tar))).run;
    expect(sq.entries).toBeGreaterThan(20);
    const erofs = await build(tarSpec(tar), "erofs");
    const e = await rejection(erofs.run, "LIMIT_EXCEEDED");
    expect(e.message).toMatch(
      /is 4094 bytes; the erofs and directory backends create it below .*erofs-stage-/,
    );
    expect(e.hint).toMatch(/squashfs/);
    await nothingAt(erofs.outDir);
  });
});

describe("control characters never reach a generated key=value file", () => {
  it("newline injection into oem-release (oem.name: QEMU\\nID=evil) is refused, naming the field", async () => {
    const { run, outDir, file } = await build(
      'name: oem-qemu\noem:\n  id: qemu\n  name: "QEMU\\nID=evil"\n',
      "directory",
    );
    const e = await rejection(run, "SPEC_INVALID");
    expect(e.message).toBe("oem-release: value of NAME contains the control character 0x0a at offset 4");
    expect(e.location).toMatchObject({ file, field: "oem.name" });
    await nothingAt(outDir);
  });

  it("a line break in metadata.displayName never reaches extension-release", async () => {
    const { run, file } = await build('name: x\nmetadata:\n  displayName: "X\\r\\nID=evil"\n', "directory");
    const e = await rejection(run, "SPEC_INVALID");
    expect(e.message).toMatch(
      /^extension-release\.x: value of SYSEXT_NAME contains the control character 0x0d/,
    );
    expect(e.location).toMatchObject({ file, field: "metadata.displayName" });
    const extra = await build('name: y\nrelease:\n  extra:\n    FOO: "a\\u0000b"\n', "directory");
    expect((await rejection(extra.run, "SPEC_INVALID")).location?.field).toBe("release.extra.FOO");
  });
});

describe("build and check share one set of limits", () => {
  it("a 2 MiB displayName builds, and inspect and check accept the image (check refused it before)", async () => {
    const big = "N".repeat(2 << 20);
    const { run } = await build(
      `name: big\nmetadata:\n  displayName: ${big}\nsources:\n  - type: file\n    path: usr/share/big/x\n    content: x\n`,
    );
    const r = await run;
    const info = await inspectImage(r.image);
    expect(info.release?.SYSEXT_NAME).toBe(big);
    const check = await cli(["check", r.image, "--host", join(dir, "os-release"), "--systemd", "252"]);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
  });

  it("a release file over systemd's limit is refused by the build and by inspect alike", async () => {
    // The build: the release check refuses an oversized release file before any image is written.
    const { specFromObject } = await import("../../src/spec/load.js");
    const spec = specFromObject({
      name: "huge",
      metadata: { displayName: "N".repeat(LIMITS.releaseFileBytes) },
    });
    const outDir = join(dir, "huge-out");
    const e = await rejection(buildExtension({ spec, base, outDir, format: "directory" }), "CHECK_FAILED");
    expect(e.message).toMatch(/is \d+ bytes; systemd reads release files of at most 67108863 bytes/);
    await nothingAt(outDir);
    // inspect: a directory image whose release file is one byte over the same limit.
    const img = join(dir, "huge-dir");
    await mkdir(join(img, "usr/lib/extension-release.d"), { recursive: true });
    const f = join(img, "usr/lib/extension-release.d/extension-release.huge-dir");
    await writeFile(f, "ID=testos\n");
    await execa("truncate", ["-s", String(LIMITS.releaseFileBytes + 1), f]);
    const i = await rejection(inspectImage(img), "IMAGE_INVALID");
    expect(i.message).toMatch(/is 67108864 bytes; systemd reads release files of at most 67108863 bytes/);
  });
});

describe("inputs that hung or crashed the build", () => {
  it("a FIFO named like a .deb is refused at once (it hung the build forever)", async () => {
    const debs = join(dir, "fifo-debs");
    await mkdir(debs, { recursive: true });
    const fifo = join(debs, `hello_1.0_${debianArch(arch)}.deb`);
    await execa("mkfifo", [fifo]);
    const yaml = `name: fifo\nsources:\n  - type: deb\n    packages: [hello]\n    dir: ${debs}\n`;
    const e = await rejection((await build(yaml, "directory")).run, "PACKAGE_INVALID");
    expect(e.message).toBe(`package ${fifo} is a FIFO, not a regular file`);
    const byPath = `name: fifo2\nsources:\n  - type: deb\n    packages: [${fifo}]\n    dir: ${debs}\n`;
    await rejection((await build(byPath, "directory")).run, "PACKAGE_INVALID");
    const asTar = `name: fifo3\nsources:\n  - type: tar\n    path: ${fifo}\n`;
    await rejection((await build(asTar, "directory")).run, "SOURCE_INVALID");
  }, 20_000);

  it("a YAML alias bomb is a LIMIT_EXCEEDED error with the file and line, not an internal error", async () => {
    let yaml = "name: bomb\nvars:\n  a: &a [x, x, x, x, x, x, x, x, x]\n";
    let prev = "a";
    for (let i = 0; i < 9; i++) {
      yaml += `  l${i}: &l${i} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
      prev = `l${i}`;
    }
    const file = join(dir, "bomb.yaml");
    await writeFile(file, yaml);
    const r = await cli(["build", file, "--base", join(dir, "os-release"), "--out", join(dir, "bomb-out")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toMatch(/internal error| {4}at /);
    expect(r.stderr).toMatch(
      new RegExp(`^sysextkit: error: ${file}:4:\\d+: YAML aliases expand too much: .*at most 100 aliases`),
    );
  });

  it("${var} expansion bombs stop at the explicit depth and size limits, naming the variable", async () => {
    const chain = ["name: vars", "vars:", "  v0: x"];
    for (let i = 1; i <= LIMITS.varDepth + 1; i++) chain.push(`  v${i}: "\${v${i - 1}}"`);
    const deep = await rejection((await build(chain.join("\n"), "directory")).run, "LIMIT_EXCEEDED");
    expect(deep.message).toBe(
      `vars.v${LIMITS.varDepth + 1} builds on variables 17 levels deep; sysextkit expands at most 16`,
    );
    expect(deep.location?.field).toBe(`vars.v${LIMITS.varDepth + 1}`);
    const wide = ["name: vars", "vars:", "  v0: xxxxxxxxxxxxxxxx"];
    for (let i = 1; i <= 8; i++) wide.push(`  v${i}: "${`\${v${i - 1}}`.repeat(10)}"`);
    const big = await rejection((await build(wide.join("\n"), "directory")).run, "LIMIT_EXCEEDED");
    expect(big.message).toMatch(/^vars\.v4 expands to more than 65536 characters/);
    const field = [
      "name: vars",
      "vars:",
      `  big: "${"y".repeat(60000)}"`,
      "sources:",
      "  - type: file",
      "    path: usr/share/x",
      `    content: "${"${big}".repeat(40)}"`,
    ];
    const grown = await rejection((await build(field.join("\n"), "directory")).run, "LIMIT_EXCEEDED");
    expect(grown.location?.field).toBe("sources[0].content");
  });

  it("a 20 MiB inline content (850 MB RSS) is refused by the spec size limit; up to it, content is spooled", async () => {
    const line = "line of text\n";
    const yaml = (bytes: number) =>
      `name: inline\nsources:\n  - type: file\n    path: usr/share/inline/x\n    content: |\n${`      ${line}`.repeat(Math.floor(bytes / (line.length + 6)))}`;
    const huge = join(dir, "huge-inline.yaml");
    await writeFile(huge, yaml(20 << 20));
    const out = join(dir, "huge-inline-out");
    const r = await cli(["build", huge, "--base", join(dir, "os-release"), "--out", out]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^sysextkit: error: ${huge}: the YAML file is \\d+ bytes; specs hold at most ${LIMITS.specBytes} bytes`,
      ),
    );
    expect(r.stderr).toMatch(/from:/);
    await nothingAt(out);
    // Just under the limit: built, and unsquashfs reads the spooled content back unchanged.
    const text = yaml(LIMITS.specBytes - 200);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMITS.specBytes);
    const { run } = await build(text);
    const img = (await run).image;
    const cat = await execa("unsquashfs", ["-cat", img, "usr/share/inline/x"], { stripFinalNewline: false });
    const want = line.repeat(Math.floor((LIMITS.specBytes - 200) / (line.length + 6)));
    expect(cat.stdout.length).toBe(want.length);
    expect(cat.stdout === want).toBe(true);
  }, 60_000);
});
