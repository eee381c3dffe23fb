// DDI benchmark: sysextkit's signed-less DDI build against the plain image tool plus `veritysetup format`, same run.
import { execa } from "execa";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { erofsUuid } from "../src/image/erofs.js";
import { mksquashfsFlags } from "../src/image/squashfs.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(cmd: string, args: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await execa(cmd, args, { stdio: "ignore" });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export interface DdiBenchRow {
  readonly filesystem: "squashfs" | "erofs";
  /** Reference: the file system tool, then `veritysetup format`, one after the other. */
  readonly refTool: number;
  readonly refVerity: number;
  /** sysextkit: the plain image, and the DDI (file system + hash tree + GPT). */
  readonly oursPlain: number;
  readonly oursDdi: number;
}

type OursBuild = (format: string, compression: string, filesystem?: string) => Promise<{ seconds: number }>;

/** Medians over `rounds` of each way to get a verity-protected image of `tree`. */
export async function benchDdi(
  tree: string,
  work: string,
  rounds: number,
  ours: OursBuild,
): Promise<DdiBenchRow[]> {
  const rows: DdiBenchRow[] = [];
  for (const fs of ["squashfs", "erofs"] as const) {
    const t = { tool: [] as number[], verity: [] as number[], plain: [] as number[], ddi: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const img = join(work, `ddi-ref.${fs}`);
      const hash = `${img}.verity`;
      await rm(img, { force: true });
      await rm(hash, { force: true });
      if (fs === "squashfs") {
        const flags = mksquashfsFlags({
          compression: "zstd",
          compressionLevel: undefined,
          blockSize: undefined,
          epoch: 0,
        });
        t.tool.push(await timed("mksquashfs", [tree, img, ...flags]));
      } else {
        const uuid = erofsUuid({ entries: [] }, 0);
        t.tool.push(
          await timed("mkfs.erofs", [
            "--quiet",
            "-T",
            "0",
            "--all-root",
            "-U",
            uuid,
            "-x",
            "2",
            "-zlz4hc",
            img,
            tree,
          ]),
        );
      }
      // veritysetup needs whole 4 KiB blocks, as our backends pad them.
      const size = (await stat(img)).size;
      if (size % 4096) await execa("truncate", ["-s", String(size + 4096 - (size % 4096)), img]);
      t.verity.push(await timed("veritysetup", ["format", img, hash]));
      const compression = fs === "squashfs" ? "zstd" : "lz4hc";
      t.plain.push((await ours(fs, compression)).seconds);
      t.ddi.push((await ours("ddi", compression, fs)).seconds);
    }
    rows.push({
      filesystem: fs,
      refTool: median(t.tool),
      refVerity: median(t.verity),
      oursPlain: median(t.plain),
      oursDdi: median(t.ddi),
    });
  }
  return rows;
}

export function describeDdiRow(r: DdiBenchRow): string {
  const ref = r.refTool + r.refVerity;
  const tool = r.filesystem === "squashfs" ? "mksquashfs" : "mkfs.erofs";
  return (
    `  ${r.filesystem.padEnd(8)} DDI ${r.oursDdi.toFixed(2)} s vs ${tool} ${r.refTool.toFixed(2)} s + veritysetup format ${r.refVerity.toFixed(2)} s = ${ref.toFixed(2)} s: ratio ${(r.oursDdi / ref).toFixed(3)}; ` +
    `vs our plain ${r.filesystem} image ${r.oursPlain.toFixed(2)} s: +${((r.oursDdi / r.oursPlain - 1) * 100).toFixed(1)}% (target <= 10%)`
  );
}
