// The tar stream: read back by GNU tar and by a raw header walk; epoch-only times, PAX xattrs, backpressure.
import { execa } from "execa";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { treeToTar } from "../../src/image/tar-writer.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { diffTree, EPOCH, getXattr, makeFixture, readTreeFromDisk, type Fixture } from "./fixture.js";

interface RawHeader {
  name: string;
  typeflag: string;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  body: Buffer;
}

/** Walk 512-byte tar headers directly (no tar library), returning each header and its body. */
function walkTar(buf: Buffer): RawHeader[] {
  const out: RawHeader[] = [];
  let off = 0;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.toString("utf8", a, a + n).replace(/\0.*$/s, "");
    const oct = (a: number, n: number) => parseInt(str(a, n).trim() || "0", 8);
    const size = oct(124, 12);
    out.push({
      name: str(0, 100),
      typeflag: String.fromCharCode(h[156]!),
      mtime: oct(136, 12),
      uid: oct(108, 8),
      gid: oct(116, 8),
      uname: str(265, 32),
      body: buf.subarray(off + 512, off + 512 + size),
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe("treeToTar", () => {
  let dir: string;
  let fx: Fixture;
  let tarFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-tar-"));
    fx = await makeFixture(dir, "tartest");
    tarFile = join(dir, "out.tar");
    await pipeline(treeToTar(fx.tree, { epoch: EPOCH }), createWriteStream(tarFile));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("has root owners, only the epoch as time, no global headers, PAX xattrs", async () => {
    const headers = walkTar(await readFile(tarFile));
    expect(headers.length).toBeGreaterThan(fx.tree.entries.length);
    for (const h of headers) {
      expect(h.typeflag).not.toBe("g");
      expect(h.mtime).toBe(EPOCH);
      expect([h.uid, h.gid, h.uname]).toEqual([0, 0, "root"]);
    }
    const pax = headers.filter((h) => h.typeflag === "x").map((h) => h.body.toString("utf8"));
    expect(pax.some((p) => p.includes(" SCHILY.xattr.user.extension-release.strict=0\n"))).toBe(true);
    expect(pax.every((p) => !/ (mtime|atime|ctime)=/.test(p))).toBe(true);
  });

  it("extracts with GNU tar to exactly the tree (modes, targets, bytes, xattrs)", async () => {
    needRoot();
    await needTools("getfattr");
    const x = join(dir, "x");
    await mkdir(x);
    await execa("tar", [
      "--xattrs",
      "--xattrs-include=user.*",
      "--same-permissions",
      "--same-owner",
      "-xf",
      tarFile,
      "-C",
      x,
    ]);
    expect(diffTree(fx, await readTreeFromDisk(x), EPOCH)).toEqual([]);
    expect(
      await getXattr(
        join(x, "usr/lib/extension-release.d/extension-release.tartest"),
        "user.extension-release.strict",
      ),
    ).toBe("0");
  });

  it("is byte-identical on a second run", async () => {
    const again = join(dir, "again.tar");
    await pipeline(treeToTar(fx.tree, { epoch: EPOCH }), createWriteStream(again));
    expect((await readFile(again)).equals(await readFile(tarFile))).toBe(true);
  });

  it("reads file content only as fast as the consumer takes it", async () => {
    const big = join(dir, "big.bin");
    await execa("truncate", ["-s", String(256 << 20), big]);
    const b = new TreeBuilder();
    b.add({
      type: "file",
      path: "usr/big",
      mode: 0o644,
      size: 256 << 20,
      content: { kind: "file", path: big, offset: 0, size: 256 << 20 },
      origin: "big",
    });
    let read = 0;
    const stream = treeToTar(b.build(), { epoch: EPOCH, onBytes: (n) => (read = n) });
    let taken = 0;
    for await (const chunk of stream) {
      taken += (chunk as Buffer).length;
      if (taken > 1 << 20) break;
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(16 << 20);
    stream.destroy();
  });

  it("fails with IO naming the origin when inline bytes disagree with the size", async () => {
    const b = new TreeBuilder();
    b.add({
      type: "file",
      path: "usr/x",
      mode: 0o644,
      size: 5,
      content: { kind: "bytes", data: new Uint8Array(3) },
      origin: "template 'x.tmpl'",
    });
    const err = await pipeline(
      treeToTar(b.build(), { epoch: EPOCH }),
      createWriteStream(join(dir, "bad.tar")),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "IO", message: expect.stringContaining("template 'x.tmpl'") });
  });

  it("refuses sockets", async () => {
    const b = new TreeBuilder();
    b.add({ type: "socket", path: "usr/s", mode: 0o644, origin: "odd" });
    const err = await pipeline(
      treeToTar(b.build(), { epoch: EPOCH }),
      createWriteStream(join(dir, "sock.tar")),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "FORMAT_UNSUPPORTED" });
  });
});
