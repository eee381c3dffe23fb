// PID-tagged temporaries: leftovers of dead processes are swept, those of live ones and foreign names stay.
import { execFileSync } from "node:child_process";
import { link, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withAtomicOutput, withAtomicOutputs } from "../../src/util/fs.js";
import { makeWorkDir, sweepStale, tempOwner, tempSibling } from "../../src/util/temp.js";

let dir: string;
let dead: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "temp-test-"));
  // The PID of a process that has exited (and, just now, not been reused).
  dead = Number(execFileSync("sh", ["-c", "sh -c 'echo $$'"], { encoding: "utf8" }).trim());
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("util/temp", () => {
  it("names temporaries after the owning PID", () => {
    const t = tempSibling("/out/hello.raw");
    expect(t).toMatch(new RegExp(`^/out/\\.hello\\.raw\\.tmp-${process.pid}-[0-9a-f]{8}$`));
    expect(tempOwner(t.slice(5))).toBe(process.pid);
    expect(tempOwner(`sysextkit-build-${dead}-AbC123`)).toBe(dead);
    expect(tempOwner("hello.raw")).toBeUndefined();
    expect(tempOwner("sysextkit-build-XyZ123")).toBeUndefined();
  });

  it("stale leftovers of dead processes are removed; a live process's and foreign names stay", async () => {
    const d = join(dir, "sweep");
    await mkdir(d);
    const names = {
      deadFile: `.hello.raw.tmp-${dead}-0123abcd`,
      deadChunks: `.hello.gz.blobs.tmp-${dead}-0123abcd-chunks-Q1w2E3`,
      deadWork: `sysextkit-build-${dead}-Q1w2E3`,
      liveFile: `.hello.raw.tmp-${process.pid}-0123abcd`,
      liveWork: `sysextkit-release-${process.pid}-Q1w2E3`,
      foreign: ".hello.raw.tmp-keep",
      plain: "hello.raw",
    };
    for (const [k, n] of Object.entries(names)) {
      if (k.endsWith("Work") || k.endsWith("Chunks")) await mkdir(join(d, n));
      else await writeFile(join(d, n), "x");
    }
    const removed = await sweepStale(d);
    expect(removed.sort()).toEqual([names.deadChunks, names.deadFile, names.deadWork].sort());
    expect((await readdir(d)).sort()).toEqual(
      [names.liveFile, names.liveWork, names.foreign, names.plain].sort(),
    );
  });

  it("a new output or work directory sweeps the dead leftovers beside it first", async () => {
    const d = join(dir, "outputs");
    await mkdir(d);
    await writeFile(join(d, `.a.tmp-${dead}-deadbeef`), "partial");
    await mkdir(join(d, `sysextkit-verify-${dead}-aaaaaa`));
    await withAtomicOutput(join(d, "a"), (tmp) => writeFile(tmp, "new"));
    const work = await makeWorkDir("test", d);
    expect((await readdir(d)).sort()).toEqual(["a", work.dir.slice(d.length + 1)].sort());
    await work.remove();
    expect(await readdir(d)).toEqual(["a"]);
  });

  it("outputs that belong together are renamed in order, the last one last; a failure leaves none", async () => {
    const d = join(dir, "pair");
    await withAtomicOutputs([join(d, "p.gz"), join(d, "p.gz.sha256")], async ([a, b]) => {
      await writeFile(a!, "payload");
      await writeFile(b!, "sum");
    });
    expect((await readdir(d)).sort()).toEqual(["p.gz", "p.gz.sha256"]);
    await expect(
      withAtomicOutputs([join(d, "q.gz"), join(d, "q.gz.sha256")], async ([a]) => {
        await writeFile(a!, "payload");
        throw new Error("failed half way");
      }),
    ).rejects.toThrow("failed half way");
    expect((await readdir(d)).sort()).toEqual(["p.gz", "p.gz.sha256"]);
  });

  it("placing a hard link of the file already there leaves no temporary (rename(2) does nothing then)", async () => {
    const d = join(dir, "samelink");
    await mkdir(d, { recursive: true });
    await writeFile(join(d, "image.raw"), "image");
    await withAtomicOutput(join(d, "image.raw"), (tmp) => link(join(d, "image.raw"), tmp));
    expect(await readdir(d)).toEqual(["image.raw"]);
  });
});
