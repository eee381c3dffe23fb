// sysupdate feeds: releases accumulate behind one signed SHA256SUMS, staging names follow the newest image, bad input is refused.
import { execa } from "execa";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { updateFeed } from "../../src/manifest/feed.js";
import { verifyFeed } from "../../src/manifest/feed-verify.js";
import { writeRelease } from "../../src/manifest/release.js";
import { verifyRelease } from "../../src/manifest/verify.js";
import { cli } from "../helpers/cli.js";
import { gpgVerify, makeGpgKey, type TestGpgKey } from "../helpers/gpg.js";
import { needTools } from "../helpers/tools.js";
import { genRsa, makeImage } from "../payload/crau-helpers.js";

await needTools("gpg", "gpgconf", "sha256sum", "openssl", "bzip2");
let dir = "";
let key: TestGpgKey;
let crau: { priv: string; pub: string };
const rel: Record<string, string> = {};

/** A release of extension oem-x (version v) for OS id/os, its image made of `seed`. */
async function release(id: string, os: string, v: string, seed: number, osId = "flatcar"): Promise<string> {
  const image = join(dir, `img-${id}.raw`);
  makeImage(image, 1, seed);
  const outDir = join(dir, `rel-${id}`);
  await writeRelease({
    outDir,
    base: { id: osId, versionId: os },
    extensions: [
      {
        name: "oem-x",
        arch: "x86-64",
        image,
        release: { ID: osId, VERSION_ID: os, ARCHITECTURE: "x86-64", SYSEXT_VERSION_ID: v },
        sysextVersionId: v,
        nonStrictName: true,
      },
    ],
    keys: [crau.priv],
    gpgKey: key.secret,
    sysupdateUrl: "https://updates.example.org/feed/",
  });
  return outDir;
}

describe("updateFeed / verifyFeed", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-feed-"));
    key = await makeGpgKey(dir, "feed");
    crau = genRsa(dir, "crau");
    rel.A = await release("A", "4081.2.0", "1.0", 1);
    rel.B = await release("B", "4081.2.0", "1.1", 2);
    rel.C = await release("C", "4081.3.0", "1.1", 3);
    rel.Bprime = await release("Bprime", "4081.2.0", "1.1", 4);
    rel.rc = await release("rc", "4081.2.0-rc1", "1.0", 5);
    rel.deb = await release("deb", "13", "1.0", 6, "debian");
  }, 180_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a release signed with gpgKey: gpg --verify accepts SHA256SUMS.gpg, transfers say Verify=true, verifyRelease checks it", async () => {
    const v = await gpgVerify(dir, key.public, join(rel.A!, "SHA256SUMS.gpg"), join(rel.A!, "SHA256SUMS"));
    expect(v.exitCode, v.output).toBe(0);
    expect(await readFile(join(rel.A!, "oem-x.transfer"), "utf8")).toMatch(/^Verify=true$/m);
    const good = await verifyRelease(rel.A!, { publicKeys: [crau.pub], gpgPublicKeys: [key.public] });
    expect(good.failures).toEqual([]);
    const other = await makeGpgKey(dir, "stranger");
    const bad = await verifyRelease(rel.A!, { publicKeys: [crau.pub], gpgPublicKeys: [other.public] });
    expect(bad.failures).toEqual([
      expect.stringMatching(/^SHA256SUMS\.gpg: signed by key [0-9A-F]+, which is not in the given keyring$/),
    ]);
  });

  it("verifyRelease --gpg-public refuses a changed SHA256SUMS, another key's signature and no signature", async () => {
    const cases: Array<[string, (d: string) => Promise<void>, RegExp]> = [
      [
        "sums",
        async (d) =>
          writeFile(
            join(d, "SHA256SUMS"),
            `${await readFile(join(d, "SHA256SUMS"), "utf8")}`.replace(/^./, (c) => (c === "f" ? "e" : "f")),
          ),
        /^SHA256SUMS\.gpg: BAD signature/,
      ],
      [
        "sig",
        async (d) => {
          const { loadGpgSigningKey, signDetached } = await import("../../src/manifest/gpg.js");
          const k = await loadGpgSigningKey((await makeGpgKey(dir, "intruder")).secret);
          await writeFile(
            join(d, "SHA256SUMS.gpg"),
            await signDetached(await readFile(join(d, "SHA256SUMS")), k),
          );
        },
        /^SHA256SUMS\.gpg: signed by key .* not in the given keyring$/,
      ],
      ["nosig", (d) => rm(join(d, "SHA256SUMS.gpg")), /^SHA256SUMS\.gpg: missing/],
    ];
    for (const [name, damage, want] of cases) {
      const copy = join(dir, `rel-A-${name}`);
      await execa("cp", ["-a", rel.A!, copy]);
      await damage(copy);
      const r = await verifyRelease(copy, { publicKeys: [crau.pub], gpgPublicKeys: [key.public] });
      expect(r.ok, name).toBe(false);
      expect(
        r.failures.filter((f) => f.startsWith("SHA256SUMS.gpg")),
        name,
      ).toEqual([expect.stringMatching(want)]);
    }
  });

  it("grows release by release; sha256sum -c and gpg --verify accept every state", async () => {
    const feed = join(dir, "feed");
    const first = await updateFeed({ dir: feed, releases: [rel.A!], gpgKey: key.secret });
    expect(first.added).toEqual(["oem-x-4081.2.0-1.0-x86-64.raw"]);
    const second = await updateFeed({ dir: feed, releases: [rel.B!, rel.C!, rel.A!], gpgKey: key.secret });
    expect(second.added).toEqual(["oem-x-4081.2.0-1.1-x86-64.raw", "oem-x-4081.3.0-1.1-x86-64.raw"]);
    expect((await readdir(feed)).sort()).toEqual(second.files);
    expect(second.newest.map((n) => [n.osVersion, n.version])).toEqual([
      ["4081.2.0", "1.1"],
      ["4081.3.0", "1.1"],
    ]);
    // The staging name of 4081.2.0 moved from A's image to B's (same file, a hard link).
    const alias = await stat(join(feed, "oem-x_4081.2.0_x86-64.raw"));
    expect(alias.ino).toBe((await stat(join(feed, "oem-x-4081.2.0-1.1-x86-64.raw"))).ino);
    const sums = await execa("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: feed, reject: false });
    expect(sums.exitCode, sums.stdout + sums.stderr).toBe(0);
    const v = await gpgVerify(dir, key.public, join(feed, "SHA256SUMS.gpg"), join(feed, "SHA256SUMS"));
    expect(v.exitCode, v.output).toBe(0);
    const report = await verifyFeed(feed, { gpgPublicKeys: [key.public] });
    expect(report.failures).toEqual([]);
    expect(report.newest).toEqual(second.newest);
    // Adding the same releases again changes nothing.
    const before = await readFile(join(feed, "SHA256SUMS.gpg"));
    expect((await updateFeed({ dir: feed, releases: [rel.B!], gpgKey: key.secret })).added).toEqual([]);
    expect(await readFile(join(feed, "SHA256SUMS.gpg"))).toEqual(before);
  });

  it("refuses other content under a published name, colliding OS versions, a second OS and a missing key", async () => {
    const feed = join(dir, "feed");
    const listing = (await readdir(feed)).sort();
    const sums = await readFile(join(feed, "SHA256SUMS"));
    await expect(
      updateFeed({ dir: feed, releases: [rel.Bprime!], gpgKey: key.secret }),
    ).rejects.toMatchObject({
      code: "RELEASE_INVALID",
      message: expect.stringContaining("already in the feed with other content"),
    });
    await expect(updateFeed({ dir: feed, releases: [rel.rc!], gpgKey: key.secret })).rejects.toMatchObject({
      message: expect.stringContaining("4081.2.0 and 4081.2.0-rc1 collide"),
    });
    await expect(updateFeed({ dir: feed, releases: [rel.deb!], gpgKey: key.secret })).rejects.toMatchObject({
      message: expect.stringContaining("mix images of OS"),
    });
    await expect(updateFeed({ dir: feed, releases: [rel.C!] })).rejects.toMatchObject({ code: "USAGE" });
    expect((await readdir(feed)).sort()).toEqual(listing);
    expect(await readFile(join(feed, "SHA256SUMS"))).toEqual(sums);
    const other = join(dir, "not-a-feed");
    await mkdir(other);
    await writeFile(join(other, "x"), "x");
    await expect(updateFeed({ dir: other, releases: [rel.A!] })).rejects.toMatchObject({
      code: "OUTPUT_EXISTS",
    });
  });

  it("verifyFeed names a moved staging name, a stray file, a missing image and an unchecked signature", async () => {
    const copy = join(dir, "feed-damaged");
    await execa("cp", ["-a", join(dir, "feed"), copy]);
    await execa("ln", [
      "-f",
      join(copy, "oem-x-4081.2.0-1.0-x86-64.raw"),
      join(copy, "oem-x_4081.2.0_x86-64.raw"),
    ]);
    await writeFile(join(copy, "stray.raw"), "x");
    await rm(join(copy, "oem-x-4081.3.0-1.1-x86-64.raw"));
    const r = await verifyFeed(copy);
    expect(r.ok).toBe(false);
    expect(r.failures).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^oem-x_4081\.2\.0_x86-64\.raw: sha256 /),
        "stray.raw: not part of the feed",
        "oem-x-4081.3.0-1.1-x86-64.raw: missing",
        expect.stringMatching(/^SHA256SUMS\.gpg: signature NOT checked; pass --gpg-public KEYRING/),
      ]),
    );
  });

  it("a signed feed or release verified without a keyring fails unless signature checks are skipped", async () => {
    const feed = join(dir, "feed");
    const bare = await verifyFeed(feed);
    expect(bare.ok).toBe(false);
    expect(bare.failures).toEqual([
      expect.stringMatching(
        /^SHA256SUMS\.gpg: signature NOT checked; pass --gpg-public KEYRING .*--no-signature-check$/,
      ),
    ]);
    const skipped = await verifyFeed(feed, { noSignatureCheck: true });
    expect(skipped.ok).toBe(true);
    expect(skipped.signatureCheck).toEqual({ signed: true, checked: false });
    expect(skipped.warnings).toEqual([expect.stringMatching(/^SHA256SUMS\.gpg: signature NOT checked/)]);
    expect((await verifyFeed(feed, { gpgPublicKeys: [key.public] })).signatureCheck).toEqual({
      signed: true,
      checked: true,
    });
    const relBare = await verifyRelease(rel.A!, { publicKeys: [crau.pub] });
    expect(relBare.failures).toEqual([expect.stringMatching(/^SHA256SUMS\.gpg: signature NOT checked/)]);
    const relSkipped = await verifyRelease(rel.A!, { noSignatureCheck: true });
    expect(relSkipped.ok).toBe(true);
    expect(relSkipped.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^SHA256SUMS\.gpg: signature NOT checked/)]),
    );
    // The CLI says so plainly.
    const out = await cli(["verify", feed]);
    expect(out.exitCode).toBe(1);
    const ok = await cli(["verify", feed, "--no-signature-check"]);
    expect(ok.exitCode, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^OK \(signatures NOT checked\): /);
    expect(ok.stdout).toContain("SHA256SUMS.gpg NOT checked (--no-signature-check)");
  });
});
