// DDIs from the command line: build, inspect, check under an image policy, verify, sign, trust, release.
import { execa } from "execa";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, helloBuildArgs } from "../helpers/cli.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { flipByte, makeKeys, opensslSign, scratch, type Keys } from "../image/ddi/helpers.js";
import { partx } from "../image/ddi/tools.js";
import { genRsa } from "../payload/crau-helpers.js";

const STRICT = "root=signed+absent:usr=signed+absent";
let dir: string;
let keys: Keys;
let osRelease: string;
let signed: string;
let signedRun: { exitCode: number; stdout: string; stderr: string };

beforeAll(async () => {
  needRoot();
  await needTools("mkfs.erofs", "mksquashfs", "openssl", "partx", "sha256sum", "bzip2");
  dir = await scratch("sysextkit-ddi-cli-");
  keys = await makeKeys(join(dir, "keys"));
  osRelease = join(dir, "os-release");
  await writeFile(osRelease, "ID=testos\nVERSION_ID=3815.2.0\n");
  const pem = await readFile(keys.key, "utf8");
  signedRun = await buildWith(
    { SYSEXTKIT_KEY: pem },
    "signed",
    "--key",
    "env:SYSEXTKIT_KEY",
    "--certificate",
    keys.cert,
  );
  signed = join(dir, "signed", "hello.raw");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** hello built as a DDI into dir/out with `extra` options, SOURCE_DATE_EPOCH fixed, `env` added. */
const buildWith = (env: Record<string, string>, out: string, ...extra: string[]) =>
  cli(helloBuildArgs({ base: osRelease, arch: "x86-64", out: join(dir, out) }, "--format", "ddi", ...extra), {
    env: { SOURCE_DATE_EPOCH: "1700000000", ...env },
  });
const build = (out: string, ...extra: string[]) => buildWith({ SYSEXTKIT_KEY: "" }, out, ...extra);

describe("build --format ddi", () => {
  it("signs with a key from the environment, never printing it, and says who signed", async () => {
    const r = signedRun;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/signed by: CN=sysextkit test signer/);
    expect(r.stdout + r.stderr).not.toMatch(/BEGIN|PRIVATE/);
    expect((await partx(signed)).map((p) => p.name)).toEqual([
      "root-x86-64",
      "root-x86-64-verity",
      "root-x86-64-verity-sig",
    ]);
  });
  it("without a key: an unsigned DDI, said so on the output", async () => {
    const r = await build("unsigned");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/UNSIGNED/);
    expect(r.stdout).toMatch(/verity-unsigned/);
  });
  it("a key without its certificate is a usage error", async () => {
    const r = await build("usage", "--key", keys.key);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--certificate is missing/);
  });
});

describe("inspect, verify and check", () => {
  it("inspect --json shows the partitions, root hash and signer", async () => {
    const r = await cli(["inspect", signed, "--json"]);
    const info = JSON.parse(r.stdout) as {
      format: string;
      verity: { signed: boolean; signer: string; partitions: Array<{ role: string }> };
      release: Record<string, string>;
    };
    expect(info.format).toBe("ddi");
    expect(info.verity.signer).toBe("CN=sysextkit test signer");
    expect(info.verity.partitions.map((p) => p.role)).toEqual(["root", "root-verity", "root-verity-sig"]);
    expect(info.release.ID).toBe("testos");
  });
  it("verify exits 0 with the right certificate, 1 with another one or a flipped data byte", async () => {
    expect((await cli(["verify", signed, "--certificate", keys.cert])).exitCode).toBe(0);
    const other = await cli(["verify", signed, "--certificate", keys.otherCert]);
    expect(other.exitCode).toBe(1);
    expect(other.stdout).toMatch(
      /FAIL signature: signed by CN=sysextkit test signer, which is not a trusted certificate/,
    );
    const flipped = join(dir, "flipped.raw");
    await writeFile(flipped, await readFile(signed));
    await flipByte(flipped, (1 << 20) + 123);
    const r = await cli(["verify", flipped, "--certificate", keys.cert, "--json"]);
    expect(r.exitCode).toBe(1);
    expect((JSON.parse(r.stdout) as { failures: string[] }).failures.join()).toMatch(/data block 0/);
  });
  it("check against a host root holding `sysextkit trust` output: signed merges under the strict policy, others do not", async () => {
    const host = join(dir, "host");
    await mkdir(join(host, "usr/lib"), { recursive: true });
    await writeFile(join(host, "usr/lib/os-release"), "ID=testos\nVERSION_ID=3815.2.0\n");
    const t = await cli(["trust", "--certificate", keys.cert, "--out", host]);
    expect(t.exitCode, t.stderr).toBe(0);
    const check = (image: string, ...extra: string[]) =>
      cli(["check", image, "--host", host, "--arch", "x86-64", "--systemd", "257", ...extra]);
    expect((await check(signed, "--image-policy", STRICT)).exitCode).toBe(0);
    const otherKey = await build("other", "--key", keys.otherKey, "--certificate", keys.otherCert);
    expect(otherKey.exitCode, otherKey.stderr).toBe(0);
    const o = await check(join(dir, "other", "hello.raw"), "--image-policy", STRICT);
    expect(o.exitCode).toBe(1);
    expect(o.stdout).toMatch(/FAIL signature: not valid for any certificate the host trusts/);
    // A wrong signature is refused under any policy (systemd 257 in a Debian 13 guest does the same)...
    const laxPolicy = "root=verity+signed+absent:usr=verity+signed+absent";
    expect((await check(join(dir, "other", "hello.raw"), "--image-policy", laxPolicy)).exitCode).toBe(1);
    // ...but the trap: with verity allowed, an unsigned image (or one whose signature was stripped) merges.
    const lax = await check(join(dir, "unsigned", "hello.raw"), "--image-policy", laxPolicy);
    expect(lax.exitCode).toBe(0);
    expect(lax.stdout).toMatch(/dm-verity without a signature/);
    expect((await check(join(dir, "unsigned", "hello.raw"), "--image-policy", STRICT)).exitCode).toBe(1);
    // Shipped without its NAME.roothash, an unsigned DDI merges under the default policy, but unprotected.
    await mkdir(join(dir, "bare"), { recursive: true });
    await writeFile(join(dir, "bare", "hello.raw"), await readFile(join(dir, "unsigned", "hello.raw")));
    const bare = await check(join(dir, "bare", "hello.raw"));
    expect(bare.exitCode).toBe(0);
    expect(bare.stdout).toMatch(/cannot know the root hash and mounts it without dm-verity/);
    const old = await check(signed, "--systemd", "252", "--image-policy", STRICT);
    expect(old.exitCode).toBe(1);
    expect(old.stdout).toMatch(/has no --image-policy/);
  });
});

describe("sign", () => {
  it("--sign-later, an offline signature, sign: verify accepts; signing twice is refused", async () => {
    const r = await build("later", "--sign-later");
    expect(r.exitCode, r.stderr).toBe(0);
    const img = join(dir, "later", "hello.raw");
    const p7s = join(dir, "later.p7s");
    await opensslSign(join(dir, "later", "hello.roothash"), keys.key, keys.cert, p7s);
    const s = await cli(["sign", img, "--signature", p7s, "--certificate", keys.cert]);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(await readFile(img)).toEqual(await readFile(signed));
    const again = await cli(["sign", img, "--signature", p7s, "--certificate", keys.cert]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already holds a signature/);
  });
});

describe("release --format ddi", () => {
  it("publishes signed DDIs: the published image is the DDI; payload, SHA256SUMS and release verify accept it", async () => {
    for (const k of ["throwaway", "real"]) genRsa(dir, k);
    const out = join(dir, "rel");
    const r = await cli(
      [
        "release",
        "--extension",
        "examples/hello",
        "--base",
        osRelease,
        "--arch",
        "x86-64",
        "--format",
        "ddi",
        "--verity-key",
        keys.key,
        "--verity-certificate",
        keys.cert,
        "--key",
        join(dir, "throwaway.pem"),
        "--key",
        join(dir, "real.pem"),
        "--base-url",
        "https://updates.example.org/x/",
        "--out",
        out,
      ],
      { env: { SOURCE_DATE_EPOCH: "1700000000" } },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const rel = join(out, "x86-64");
    // The published image (whatever name #9's release layout gives it) is the signed DDI.
    const manifest = JSON.parse(await readFile(join(rel, "manifest.json"), "utf8")) as {
      extensions: Array<{ name: string; image: { file: string } }>;
    };
    const raw = join(rel, manifest.extensions.find((e) => e.name === "hello")!.image.file);
    expect((await partx(raw)).map((p) => p.name)).toEqual([
      "root-x86-64",
      "root-x86-64-verity",
      "root-x86-64-verity-sig",
    ]);
    expect(await readdir(rel)).toEqual(expect.arrayContaining(["hello.gz", "SHA256SUMS"]));
    expect((await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: rel })).exitCode).toBe(0);
    expect((await cli(["verify", rel, "--key", join(dir, "real.pub.pem")])).exitCode).toBe(0);
    expect(
      (await cli(["verify", join(rel, "hello.gz"), "--image", raw, "--key", join(dir, "real.pub.pem")]))
        .exitCode,
    ).toBe(0);
    expect((await cli(["verify", raw, "--certificate", keys.cert])).exitCode).toBe(0);
  });
  it("refuses extensions with verity sidecar files (a release carries one file per extension)", async () => {
    const spec = join(dir, "side", "extension.yaml");
    await mkdir(join(dir, "side"), { recursive: true });
    await writeFile(
      spec,
      "name: side\nsources:\n  - type: file\n    path: usr/share/side/x\n    content: x\nimage:\n  format: squashfs\n  verity: sidecar\n",
    );
    const r = await cli([
      "release",
      "--extension",
      spec,
      "--base",
      osRelease,
      "--arch",
      "x86-64",
      "--key",
      join(dir, "real.pem"),
      "--out",
      join(dir, "rel2"),
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/verity sidecar files cannot be published/);
  });
});
