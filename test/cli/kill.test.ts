// SIGKILL at every rename point of build, payload and release: the output is the old or the new complete result (a
// payload between its two renames reads as "incomplete"), and the next run removes the dead run's leftovers.
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hostArch, verifyPayload, verifyRelease } from "../../src/index.js";
import { copy, inPairs, killed, leftovers, succeed, sysextkit } from "../helpers/kill.js";
import { helloBuildArgs, helloReleaseArgs } from "../helpers/cli.js";
import { needTools } from "../helpers/tools.js";
import { genRsa } from "../payload/crau-helpers.js";

const arch = hostArch();
let dir: string;
let key: { priv: string; pub: string };

beforeAll(async () => {
  await needTools("mksquashfs", "bzip2", "openssl");
  dir = await mkdtemp(join(tmpdir(), "sysextkit-kill-"));
  key = genRsa(dir, "key");
  await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=1.0\n");
});

const buildArgs = (out: string) => helloBuildArgs({ base: join(dir, "os-release"), arch, out });

describe("killed and interrupted runs", () => {
  it("build: the old image or the new one, never a partial one; the next build removes the leftovers", async () => {
    const old = join(dir, "build-old");
    await succeed(buildArgs(old), { tmp: join(dir, "t0"), epoch: "1" });
    const oldImage = await readFile(join(old, "hello.raw"));
    const fresh = join(dir, "build-new");
    const pts = await succeed(buildArgs(fresh), { tmp: join(dir, "t0"), watch: fresh, epoch: "2" });
    expect(pts).toEqual([join(fresh, "hello.raw")]);
    const newImage = await readFile(join(fresh, "hello.raw"));
    expect(newImage.equals(oldImage)).toBe(false);
    await inPairs(["before", "after"] as const, async (when) => {
      const out = join(dir, `build-${when}`);
      const tmp = join(dir, `tb-${when}`);
      await copy(old, out);
      await killed(buildArgs(out), { tmp, watch: out, kill: { at: 1, when }, epoch: "2" });
      expect((await readFile(join(out, "hello.raw"))).equals(when === "before" ? oldImage : newImage)).toBe(
        true,
      );
      expect((await leftovers(out)).length + (await leftovers(tmp)).length).toBeGreaterThan(0);
      await succeed(buildArgs(out), { tmp, epoch: "2" });
      expect(await leftovers(out)).toEqual([]);
      expect(await leftovers(tmp)).toEqual([]);
    });
  });

  it("payload: the old pair, the new pair, or a pair verify calls incomplete; the next run completes it", async () => {
    const tmp = join(dir, "tp");
    const img1 = join(dir, "payload-img1");
    const img2 = join(dir, "payload-img2");
    await Promise.all([
      succeed(buildArgs(img1), { tmp, epoch: "1" }),
      succeed(buildArgs(img2), { tmp: join(dir, "tp2"), epoch: "2" }),
    ]);
    const args = (img: string, out: string) => [
      "payload",
      join(img, "hello.raw"),
      "--key",
      key.priv,
      "--out",
      out,
    ];
    const old = join(dir, "payload-old");
    const fresh = join(dir, "payload-new");
    await succeed(args(img1, old), { tmp });
    const pts = await succeed(args(img2, fresh), { tmp, watch: fresh });
    expect(pts).toEqual([join(fresh, "hello.gz"), join(fresh, "hello.gz.sha256")]);
    const oldGz = await readFile(join(old, "hello.gz"));
    const newGz = await readFile(join(fresh, "hello.gz"));
    const cases = [1, 2].flatMap((at) => (["before", "after"] as const).map((when) => ({ at, when })));
    const states: string[] = [];
    await inPairs(cases, async ({ at, when }, i) => {
      const out = join(dir, `payload-${at}-${when}`);
      await copy(old, out);
      await killed(args(img2, out), { tmp: join(dir, `tp-${at}-${when}`), watch: out, kill: { at, when } });
      const gz = await readFile(join(out, "hello.gz"));
      const report = await verifyPayload(join(out, "hello.gz"), { publicKeys: [key.pub] });
      if (report.ok) states[i] = gz.equals(oldGz) ? "old" : gz.equals(newGz) ? "new" : "other";
      else {
        expect(gz.equals(newGz)).toBe(true);
        expect(report.failures).toEqual([
          expect.stringMatching(/^incomplete: hello\.gz\.sha256 does not hold/),
        ]);
        states[i] = "incomplete";
      }
    });
    expect(states).toEqual(["old", "incomplete", "incomplete", "new"]);
    const out = join(dir, "payload-1-after");
    await succeed(args(img2, out), { tmp: join(dir, "tp-1-after") });
    expect(await leftovers(out)).toEqual([]);
    expect((await verifyPayload(join(out, "hello.gz"), { publicKeys: [key.pub] })).ok).toBe(true);
  });

  it("release: no release or the complete one; re-publishing keeps it complete at every point", async () => {
    const args = (out: string) =>
      helloReleaseArgs({ dir, arch, keys: [key.priv], out }, "--base-url", "https://example.org/r/");
    const complete = async (relDir: string) => (await verifyRelease(relDir, { publicKeys: [key.pub] })).ok;
    const ref = join(dir, "rel-ref");
    const first = await succeed(args(ref), { tmp: join(dir, "tr"), watch: ref });
    expect(first.at(-1)).toBe(join(ref, arch));
    // First publication, killed before every rename and after the last: no release directory, or a complete one.
    const cases = [
      ...first.map((_, i) => ({ at: i + 1, when: "before" as const })),
      { at: first.length, when: "after" as const },
    ];
    await inPairs(cases, async ({ at, when }) => {
      const out = join(dir, `rel-${at}-${when}`);
      await killed(args(out), { tmp: join(dir, `tr-${at}-${when}`), watch: out, kill: { at, when } });
      const published = (await readdir(out).catch(() => [] as string[])).filter((n) => !n.startsWith("."));
      expect(published, `${at} ${when}`).toEqual(when === "after" ? [arch] : []);
      if (published.length > 0) expect(await complete(join(out, arch))).toBe(true);
    });
    // Re-publishing the same release over the complete one: complete whenever it is killed.
    const again = await succeed(args(ref), { tmp: join(dir, "tr"), watch: ref });
    expect(again.slice(-2)).toEqual([join(ref, arch, "SHA256SUMS"), join(ref, arch, "manifest.json")]);
    const sample = [...new Set([first.length, again.length - 1, again.length])];
    await inPairs(sample, async (at) => {
      const out = join(dir, `rel-again-${at}`);
      await copy(ref, out);
      await killed(args(out), { tmp: join(dir, `tra-${at}`), watch: out, kill: { at, when: "before" } });
      expect(await complete(join(out, arch)), `re-publish killed before rename ${at}`).toBe(true);
    });
    // The next run removes what the killed one left (its staging directory, work directories).
    const out = join(dir, `rel-again-${sample[0]}`);
    const tmp = join(dir, `tra-${sample[0]}`);
    expect((await leftovers(out)).length + (await leftovers(tmp)).length).toBeGreaterThan(0);
    await succeed(args(out), { tmp });
    expect(await leftovers(out)).toEqual([]);
    expect(await leftovers(tmp)).toEqual([]);
  });

  it("SIGINT and SIGTERM: an interrupted build, payload or release removes its temporary files itself", async () => {
    const img = join(dir, "sig-img");
    await succeed(buildArgs(img), { tmp: join(dir, "ts") });
    const cases = [
      { name: "build", args: (out: string) => buildArgs(out), signal: "SIGINT" as const },
      {
        name: "payload",
        args: (out: string) => ["payload", join(img, "hello.raw"), "--key", key.priv, "--out", out],
        signal: "SIGTERM" as const,
      },
      {
        name: "release",
        args: (out: string) => helloReleaseArgs({ dir, arch, keys: [key.priv], out }),
        signal: "SIGTERM" as const,
      },
    ];
    await inPairs(cases, async (c) => {
      const out = join(dir, `sig-${c.name}`);
      const tmp = join(dir, `ts-${c.name}`);
      const r = await sysextkit(c.args(out), {
        tmp,
        watch: out,
        kill: { at: 1, when: "before", signal: c.signal },
      });
      expect(r.signal, `${c.name}: ${r.stderr}`).toBe(c.signal);
      expect(await leftovers(out), c.name).toEqual([]);
      expect(await leftovers(tmp), c.name).toEqual([]);
      expect(await readdir(out).catch(() => []), c.name).toEqual([]);
    });
  });
});
