// writeTreeTar (reused buffers, straight into a pipe) against treeToTar, and the buffer pool it reads into.
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BufferPool } from "../../src/image/buffer-pool.js";
import { treeToTar, writeTreeTar } from "../../src/image/tar-writer.js";
import { TreeBuilder, treeContentSize, type Tree } from "../../src/tree/tree.js";
import { rejection } from "../helpers/errors.js";

describe("BufferPool", () => {
  it("cuts slices from one slab and starts it over once every slice is released", () => {
    const pool = new BufferPool();
    const a = pool.take(1000);
    const b = pool.take(3000);
    expect(a.buffer).toBe(b.buffer);
    expect(a.length).toBe(1000);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 1000);
    pool.release(a);
    pool.release(b);
    const c = pool.take(10);
    expect(c.buffer).toBe(a.buffer);
    expect(c.byteOffset).toBe(a.byteOffset);
  });

  it("reuses a full slab after its last slice comes back, and ignores foreign buffers", () => {
    const pool = new BufferPool();
    const first = [pool.take(3 << 19)];
    first.push(pool.take(1 << 20)); // does not fit: a second slab
    expect(first[1]!.buffer).not.toBe(first[0]!.buffer);
    pool.release(Buffer.alloc(5));
    pool.release(first[0]!);
    const third = pool.take(3 << 19); // the second slab is full: the first one, free again, is reused
    expect(third.buffer).toBe(first[0]!.buffer);
    expect(pool.take(0).length).toBe(0);
    expect(pool.take(5 << 20).length).toBe(5 << 20); // larger than a slab: its own buffer
  });
});

describe("writeTreeTar", () => {
  let dir: string;
  let tree: Tree;
  let big: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-tarpool-"));
    big = join(dir, "big.bin");
    await writeFile(big, randomBytes(3 * (1 << 20) + 123));
    const b = new TreeBuilder();
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(i * 997);
      b.add({
        type: "file",
        path: `usr/lib/f${i}`,
        mode: 0o644,
        size: data.length,
        content: { kind: "bytes", data },
        origin: "test",
      });
      await writeFile(join(dir, `src${i}`), data);
      b.add({
        type: "file",
        path: `usr/share/s${i}`,
        mode: 0o600,
        size: data.length,
        content: { kind: "file", path: join(dir, `src${i}`), offset: 0, size: data.length },
        origin: "test",
      });
    }
    const size = 3 * (1 << 20) + 123;
    b.add({
      type: "file",
      path: "usr/lib/big.so",
      mode: 0o755,
      size,
      content: { kind: "file", path: big, offset: 0, size },
      origin: "test",
    });
    b.addHardLink("usr/bin/big", "usr/lib/big.so", "test");
    tree = b.build();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes exactly the bytes of treeToTar", async () => {
    const viaStream = join(dir, "stream.tar");
    const viaPool = join(dir, "pool.tar");
    await pipeline(treeToTar(tree, { epoch: 7 }), createWriteStream(viaStream));
    const out = createWriteStream(viaPool);
    let progress = 0;
    await writeTreeTar(tree, out, { epoch: 7, onBytes: (n) => (progress = n) });
    expect(Buffer.compare(await readFile(viaPool), await readFile(viaStream))).toBe(0);
    expect(progress).toBe(treeContentSize(tree)); // the linked 3 MiB once
  });

  it("fails with IO naming the file when a source shrank, and when the output fails", async () => {
    const shrunk = join(dir, "src49");
    await truncate(shrunk, 10);
    const e = await rejection(writeTreeTar(tree, createWriteStream(join(dir, "x.tar")), { epoch: 0 }), "IO");
    expect(e.message).toContain("usr/share/s49");
    await writeFile(shrunk, randomBytes(49 * 997));
    const broken = new Writable({
      highWaterMark: 1024,
      write(_chunk, _enc, cb) {
        setImmediate(() => cb(new Error("pipe closed")));
      },
    });
    await expect(writeTreeTar(tree, broken, { epoch: 0 })).rejects.toThrow(/pipe closed/);
  });
});
