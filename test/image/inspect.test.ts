// inspectImage edge cases (big directories, compressed release files, directory images) and the directory backend.
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeImage } from "../../src/image/index.js";
import { detectFormat, inspectImage, parsePermissions } from "../../src/image/inspect.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { haveTools, isRoot } from "../helpers/tools.js";
import { diffTree, EPOCH, makeFixture, readTreeFromDisk } from "./fixture.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("inspectImage", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-inspect-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const bigTree = () => {
    const b = new TreeBuilder();
    for (let i = 0; i < 400; i++) {
      const data = enc(`file ${i}\n`);
      b.add({
        type: "file",
        path: `usr/share/many/${"n".repeat(40)}-${String(i).padStart(4, "0")}`,
        mode: 0o644,
        size: data.length,
        content: { kind: "bytes", data },
        origin: "t",
      });
    }
    // A release file large and repetitive enough that erofs stores it compressed.
    const release = enc(
      `ID=_any\n${"# padding comment line that compresses well\n".repeat(600)}SYSEXT_ID=big\n`,
    );
    b.add({
      type: "file",
      path: "usr/lib/extension-release.d/extension-release.other",
      mode: 0o644,
      size: release.length,
      content: { kind: "bytes", data: release },
      xattrs: { "user.extension-release.strict": "false" },
      origin: "t",
    });
    return b.build();
  };

  it.each(["squashfs", "erofs"] as const)(
    "lists multi-block directories and compressed release files (%s)",
    async (format) => {
      if (
        !(await haveTools(
          format === "squashfs" ? "mksquashfs" : "mkfs.erofs",
          "unsquashfs",
          "fsck.erofs",
          "getfattr",
          "setfattr",
        ))
      )
        return;
      const tree = bigTree();
      const out = join(dir, `big-${format}.raw`);
      await writeImage({
        tree,
        out,
        format,
        compression: undefined,
        compressionLevel: undefined,
        blockSize: undefined,
        epoch: EPOCH,
        workDir: dir,
      });
      if (format === "erofs") {
        const { stdout } = await execa("dump.erofs", [
          "--path=/usr/lib/extension-release.d/extension-release.other",
          out,
        ]);
        expect(stdout).toMatch(/Layout: [13]/); // really compressed: exercises the extraction fallback
      }
      const info = await inspectImage(out);
      expect(info.files.map((f) => f.path)).toEqual(tree.entries.map((e) => e.path));
      // Named "big-<format>", so the single other release file is the one reported.
      expect(info.releaseFiles).toEqual(["extension-release.other"]);
      expect(info.release).toMatchObject({ ID: "_any", SYSEXT_ID: "big" });
      expect(info.strictXattr).toBe("false");
    },
  );

  it("writes and reads the directory format", async (ctx) => {
    if (!isRoot() || !(await haveTools("setfattr", "getfattr"))) return ctx.skip();
    const fx = await makeFixture(dir, "dirext", { devices: true });
    const out = join(dir, "dirext");
    await writeImage({
      tree: fx.tree,
      out,
      format: "directory",
      compression: undefined,
      compressionLevel: undefined,
      blockSize: undefined,
      epoch: EPOCH,
      workDir: dir,
    });
    expect(diffTree(fx, await readTreeFromDisk(out), EPOCH)).toEqual([]);
    const info = await inspectImage(out);
    expect(info.format).toBe("directory");
    expect(info.sha256).toBeUndefined();
    expect(info.release).toMatchObject({ ID: "testos", VERSION_ID: "1.0" });
    expect(info.strictXattr).toBe("0");
  });

  it("refuses files that are no file system image", async () => {
    const junk = join(dir, "junk.raw");
    await writeFile(junk, Buffer.alloc(8192, 7));
    await expect(detectFormat(junk)).rejects.toMatchObject({ code: "FORMAT_UNSUPPORTED" });
  });

  it("parses ls-style permissions", () => {
    expect(parsePermissions("rwsr-xr-x")).toBe(0o4755);
    expect(parsePermissions("rwxr-sr-T")).toBe(0o3754);
    expect(parsePermissions("r--r--r--")).toBe(0o444);
  });

  it("reports mksquashfs failures as TOOL_FAILED", async () => {
    if (!(await haveTools("mksquashfs"))) return;
    const b = new TreeBuilder();
    b.add({ type: "dir", path: "usr", mode: 0o755, origin: "t" });
    const out = join(dir, "no/such/dir/x.raw");
    await expect(
      writeImage({
        tree: b.build(),
        out,
        format: "squashfs",
        compression: undefined,
        compressionLevel: undefined,
        blockSize: undefined,
        epoch: EPOCH,
        workDir: dir,
      }),
    ).rejects.toMatchObject({ code: "TOOL_FAILED" });
  });
});
