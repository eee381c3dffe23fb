// Valid payloads of real images were rejected: uncompressed squashfs and erofs images of text, whose 1 MiB chunks
// end in "\n", reassembled one byte short per chunk (execa stripped the final newline of bunzip2's output).
import { execa } from "execa";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildExtension,
  createPayload,
  hostArch,
  parseSpec,
  readBase,
  verifyPayload,
} from "../../src/index.js";
import type { BaseRelease } from "../../src/base/base.js";
import { needTools } from "../helpers/tools.js";
import { genRsa } from "./crau-helpers.js";

await needTools("mksquashfs", "mkfs.erofs", "bzip2", "openssl", "sha256sum");
let dir = "";
let base: BaseRelease;
let key: { priv: string; pub: string };

describe("payloads of real images of text verify", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "real-images-"));
    key = genRsa(dir, "key");
    await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=1.0\n");
    base = await readBase({ path: join(dir, "os-release"), arch: hostArch() });
    const share = join(dir, "root/usr/share/nl");
    await mkdir(share, { recursive: true });
    await writeFile(join(share, "lines"), "\n".repeat(3 << 20));
    await writeFile(join(share, "crlf"), "\r\n".repeat(1 << 20));
    await writeFile(join(share, "nul"), Buffer.alloc(1 << 20));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const [format, compression] of [
    ["squashfs", "none"],
    ["erofs", "none"],
    ["erofs", "lz4"],
  ] as const) {
    it(`${format} --compression ${compression}: payload then verify accept it, and it reassembles exactly`, async () => {
      const spec = parseSpec(
        `name: nl\nsources:\n  - type: directory\n    path: ./root\n`,
        join(dir, "extension.yaml"),
      );
      const outDir = join(dir, `out-${format}-${compression}`);
      const r = await buildExtension({ spec, base, outDir, format, compression });
      const image = await readFile(r.image);
      // The chunks of an uncompressed image of these files end in "\n" (the case that failed).
      if (compression === "none")
        expect([1, 2, 3].filter((m) => image[(m << 20) - 1] === 0x0a).length).toBeGreaterThan(0);
      const p = await createPayload({ image: r.image, keys: [key.priv], outDir, name: "nl" });
      const v = await verifyPayload(p.file, { publicKeys: [key.pub], expectedImage: r.image });
      expect(v.failures).toEqual([]);
      expect(v.ok).toBe(true);
      // sha256sum (not our code) agrees with the hash the payload promises and verify recomputed.
      const sum = (await execa("sha256sum", [r.image])).stdout.split(" ")[0];
      expect(sum).toBe(r.sha256);
      expect(await readFile(p.sha256File, "utf8")).toBe(`${p.sha256}  nl.gz\n`);
    }, 60_000);
  }
});
