// SIGKILL at every rename point of `sysextkit feed`: SHA256SUMS and SHA256SUMS.gpg are an atomic pair (with feed.json),
// so the feed is the old one, the new one, or one verify calls incomplete; the next run completes it byte for byte.
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyFeed } from "../../src/manifest/feed-verify.js";
import { loadGpgSigningKey, type GpgSigningKey } from "../../src/manifest/gpg.js";
import { updateFeed } from "../../src/manifest/feed.js";
import { writeRelease } from "../../src/manifest/release.js";
import { gpgVerify, makeGpgKey, type TestGpgKey } from "../helpers/gpg.js";
import { copy, inPairs, killed, leftovers, succeed } from "../helpers/kill.js";
import { needTools } from "../helpers/tools.js";
import { genRsa, makeImage } from "../payload/crau-helpers.js";

let dir = "";
let gpg: TestGpgKey;
const rel: Record<string, string> = {};

/** A release of oem-x for OS `os`, its image made of `seed`. */
async function release(os: string, seed: number, crau: string): Promise<string> {
  const image = join(dir, `img-${os}.raw`);
  makeImage(image, 1, seed);
  const outDir = join(dir, `rel-${os}`);
  await writeRelease({
    outDir,
    base: { id: "flatcar", versionId: os },
    extensions: [
      {
        name: "oem-x",
        arch: "x86-64",
        image,
        release: { ID: "flatcar", VERSION_ID: os, ARCHITECTURE: "x86-64", SYSEXT_VERSION_ID: "1.0" },
        sysextVersionId: "1.0",
        nonStrictName: true,
      },
    ],
    keys: [crau],
  });
  return outDir;
}

/** Every file of a feed directory with its content. */
async function snapshot(feed: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const n of (await readdir(feed)).sort()) out.set(n, await readFile(join(feed, n)));
  return out;
}

const same = (a: Map<string, Buffer>, b: Map<string, Buffer>) =>
  a.size === b.size && [...a].every(([n, d]) => b.get(n)?.equals(d) === true);

beforeAll(async () => {
  await needTools("gpg", "gpgconf", "openssl", "bzip2");
  dir = await mkdtemp(join(tmpdir(), "sysextkit-kill-feed-"));
  gpg = await makeGpgKey(dir, "feed");
  const crau = genRsa(dir, "crau");
  rel.A = await release("4081.2.0", 1, crau.priv);
  rel.B = await release("4081.3.0", 2, crau.priv);
}, 120_000);

describe("killed feed updates", () => {
  it("feed: SHA256SUMS and its signature are published as a pair; every kill point is old, new or incomplete", async () => {
    const args = (feed: string) => ["feed", feed, rel.B!, "--gpg-key", gpg.secret];
    const verify = (feed: string) => verifyFeed(feed, { gpgPublicKeys: [gpg.public] });
    const old = join(dir, "feed-old");
    await updateFeed({ dir: old, releases: [rel.A!], gpgKey: gpg.secret });
    const oldFiles = await snapshot(old);
    const fresh = join(dir, "feed-new");
    await copy(old, fresh);
    const points = await succeed(args(fresh), { tmp: join(dir, "t-ref"), watch: fresh });
    // The new image and its staging name, then feed.json, SHA256SUMS and SHA256SUMS.gpg, the signature last.
    expect(points.slice(-3)).toEqual(
      ["feed.json", "SHA256SUMS", "SHA256SUMS.gpg"].map((n) => join(fresh, n)),
    );
    const newFiles = await snapshot(fresh);
    expect((await verify(fresh)).failures).toEqual([]);
    expect(
      (await gpgVerify(dir, gpg.public, join(fresh, "SHA256SUMS.gpg"), join(fresh, "SHA256SUMS"))).exitCode,
    ).toBe(0);

    const cases = points.flatMap((_, i) =>
      (["before", "after"] as const).map((when) => ({ at: i + 1, when })),
    );
    const states: string[] = [];
    await inPairs(cases, async ({ at, when }, i) => {
      const out = join(dir, `feed-${at}-${when}`);
      const tmp = join(dir, `t-${at}-${when}`);
      await copy(old, out);
      await killed(args(out), { tmp, watch: out, kill: { at, when } });
      const files = await snapshot(out);
      const report = await verify(out);
      const label = `killed ${when} rename ${at} (${points[at - 1]})`;
      if (report.ok) {
        states[i] = same(files, oldFiles) ? "old" : same(files, newFiles) ? "new" : "other";
      } else if (report.failures[0]!.startsWith("incomplete:")) {
        states[i] = "incomplete";
        // What clients read is never a mismatched pair that verifies: gpg refuses it or it is the old pair.
        const sumsAndSig = ["SHA256SUMS", "SHA256SUMS.gpg"].map((n) => files.get(n)!);
        const pairOld = sumsAndSig.every((d, k) =>
          d.equals(oldFiles.get(["SHA256SUMS", "SHA256SUMS.gpg"][k]!)!),
        );
        const pairNew = sumsAndSig.every((d, k) =>
          d.equals(newFiles.get(["SHA256SUMS", "SHA256SUMS.gpg"][k]!)!),
        );
        const g = await gpgVerify(dir, gpg.public, join(out, "SHA256SUMS.gpg"), join(out, "SHA256SUMS"));
        expect(g.exitCode === 0, label).toBe(pairOld || pairNew);
      } else {
        // Only an image the new SHA256SUMS does not list yet may be present (clients see the old feed).
        states[i] = "unlisted";
        for (const f of report.failures)
          expect(f, label).toMatch(/^oem-x[-_]4081\.3\.0.*: not part of the feed$/);
        expect(files.get("SHA256SUMS")!.equals(oldFiles.get("SHA256SUMS")!), label).toBe(true);
      }
      expect(states[i], label).not.toBe("other");
      // The next run removes the dead run's temporaries and publishes the complete new feed, byte for byte.
      await succeed(args(out), { tmp });
      expect(await leftovers(out)).toEqual([]);
      expect(same(await snapshot(out), newFiles), label).toBe(true);
    });
    // Killed between the renames of feed.json, SHA256SUMS and SHA256SUMS.gpg: always "incomplete".
    const n = points.length;
    const pairPoints = cases
      .map((c, i) => ({ ...c, state: states[i] }))
      .filter((c) => c.at > n - 3 && !(c.at === n && c.when === "after"));
    expect(pairPoints.map((c) => c.state)).toEqual(Array(5).fill("incomplete"));
    expect(states.at(-1)).toBe("new");
    expect(states[0]).toBe("incomplete"); // killed before the first rename: its temporary is there
  }, 600_000);

  it("a key that cannot sign leaves the old feed untouched (it was signed after SHA256SUMS was replaced)", async () => {
    const feed = join(dir, "feed-badkey");
    await updateFeed({ dir: feed, releases: [rel.A!], gpgKey: gpg.secret });
    const before = await snapshot(feed);
    const good = await loadGpgSigningKey(gpg.secret);
    const broken: GpgSigningKey = {
      ...good,
      key: (await loadGpgSigningKey(gpg.secret)).key.toPublic() as never,
    };
    await expect(updateFeed({ dir: feed, releases: [rel.B!], gpgKey: broken })).rejects.toThrow();
    expect(same(await snapshot(feed), before)).toBe(true);
    expect((await verifyFeed(feed, { gpgPublicKeys: [gpg.public] })).failures).toEqual([]);
  });
});
