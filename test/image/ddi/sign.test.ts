// Signing later (HSM/KMS flow) byte-identical to signing now; sidecar images; bad keys, certificates and signatures.
import { execa } from "execa";
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildResult } from "../../../src/build.js";
import { SysextError } from "../../../src/errors.js";
import { signImage } from "../../../src/image/ddi/sign.js";
import { verifyImage } from "../../../src/image/ddi/verify.js";
import { digestFile } from "../../../src/util/fs.js";
import { needRoot, needTools } from "../../helpers/tools.js";
import {
  buildFromDir,
  makeBase,
  makeKeys,
  makeTree,
  opensslSign,
  PASSPHRASE,
  scratch,
  type Keys,
} from "./helpers.js";
import { dissectHost, opensslVerify, veritysetupVerify } from "./tools.js";

const NAME = "sign-demo";
let dir: string;
let keys: Keys;
let base: string;
let tree: string;
let signed: BuildResult;

beforeAll(async () => {
  needRoot();
  await needTools("mkfs.erofs", "mksquashfs", "veritysetup", "openssl", "systemd-dissect");
  dir = await scratch("sysextkit-sign-");
  keys = await makeKeys(join(dir, "keys"));
  base = await makeBase(dir);
  tree = await makeTree(dir, NAME);
  signed = await buildFromDir({
    name: NAME,
    tree,
    base,
    outDir: join(dir, "signed"),
    format: "ddi",
    signing: { key: keys.key, certificate: keys.cert },
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const build = (
  out: string,
  extra: Parameters<typeof buildFromDir>[0] extends infer T ? Partial<T> : never = {},
) => buildFromDir({ name: NAME, tree, base, outDir: join(dir, out), format: "ddi", ...extra });

describe("--sign-later, then sign", () => {
  it("writes NAME.roothash (hex, no newline); a signature made from it with openssl gives the very bytes of a direct signed build", async () => {
    const later = await build("later", { signLater: true });
    expect(later.verity).toMatchObject({ signed: false, signLater: true });
    const roothash = later.verity!.files.roothash!;
    expect(await readFile(roothash, "utf8")).toBe(signed.verity!.rootHash);
    const p7s = await opensslSign(roothash, keys.key, keys.cert, join(dir, "later.p7s"));
    const r = await signImage({ image: later.image, signature: p7s, certificate: keys.cert });
    expect(r).toMatchObject({
      kind: "ddi",
      rootHash: signed.verity!.rootHash,
      signer: "CN=sysextkit test signer",
    });
    expect((await digestFile(later.image)).sha256).toBe(signed.sha256);
  });
  it("sign --key gives the same bytes too; a second signature is refused and the image left as it was", async () => {
    const later = await build("later-key", { signLater: true });
    await signImage({ image: later.image, key: keys.key, certificate: keys.cert });
    const digest = (await digestFile(later.image)).sha256;
    expect(digest).toBe(signed.sha256);
    const e = await signImage({ image: later.image, key: keys.key, certificate: keys.cert }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SysextError);
    expect((e as SysextError).message).toMatch(/already holds a signature/);
    expect((await digestFile(later.image)).sha256).toBe(digest);
  });
  it("a signature over another build's root hash, or over the hash plus a newline, is refused; nothing changes", async () => {
    const later = await build("later-bad", { signLater: true });
    const before = (await digestFile(later.image)).sha256;
    const other = await buildFromDir({
      name: NAME,
      tree: await makeTree(dir, NAME, "z"),
      base,
      outDir: join(dir, "other"),
      format: "ddi",
      signLater: true,
    });
    const wrong = await opensslSign(
      other.verity!.files.roothash!,
      keys.key,
      keys.cert,
      join(dir, "wrong.p7s"),
    );
    const e1 = (await signImage({ image: later.image, signature: wrong, certificate: keys.cert }).catch(
      (x: unknown) => x,
    )) as SysextError;
    expect(e1.code).toBe("KEY_INVALID");
    expect(e1.message).toMatch(
      new RegExp(`not a valid signature of this image's root hash ${later.verity!.rootHash}`),
    );
    const nl = join(dir, "newline.roothash");
    await writeFile(nl, `${later.verity!.rootHash}\n`);
    const e2 = (await signImage({
      image: later.image,
      signature: await opensslSign(nl, keys.key, keys.cert, join(dir, "nl.p7s")),
      certificate: keys.cert,
    }).catch((x: unknown) => x)) as SysextError;
    expect(e2.message).toMatch(/followed by a newline/);
    const e3 = (await signImage({
      image: later.image,
      signature: await opensslSign(
        later.verity!.files.roothash!,
        keys.otherKey,
        keys.otherCert,
        join(dir, "o.p7s"),
      ),
      certificate: keys.cert,
    }).catch((x: unknown) => x)) as SysextError;
    expect(e3.message).toMatch(/not a trusted certificate/);
    expect((await digestFile(later.image)).sha256).toBe(before);
    expect((await readdir(join(dir, "later-bad"))).sort()).toEqual([`${NAME}.raw`, `${NAME}.roothash`]);
  });
  it("a signature with signed attributes (openssl cms default) is accepted: valid, though not byte-identical", async () => {
    const later = await build("later-attrs", { signLater: true });
    const p7s = join(dir, "attrs.p7s");
    await execa("openssl", [
      "cms",
      "-sign",
      "-binary",
      "-in",
      later.verity!.files.roothash!,
      "-signer",
      keys.cert,
      "-inkey",
      keys.key,
      "-outform",
      "DER",
      "-out",
      p7s,
    ]);
    await signImage({ image: later.image, signature: p7s, certificate: keys.cert });
    expect((await verifyImage(later.image, { certificates: [keys.cert] })).ok).toBe(true);
  });
});

describe("verity sidecar files for a plain image", () => {
  it("NAME.raw + NAME.verity + NAME.roothash + NAME.roothash.p7s: systemd-dissect 252 finds them; veritysetup and openssl accept", async () => {
    const r = await buildFromDir({
      name: NAME,
      tree,
      base,
      outDir: join(dir, "sidecar"),
      format: "squashfs",
      verity: "sidecar",
      signing: { key: keys.key, certificate: keys.cert },
    });
    const d = join(dir, "sidecar");
    expect((await readdir(d)).sort()).toEqual([
      `${NAME}.raw`,
      `${NAME}.roothash`,
      `${NAME}.roothash.p7s`,
      `${NAME}.verity`,
    ]);
    const root = (await dissectHost(r.image)).json!.mounts.find((m) => m.designator === "root")!;
    expect(root).toMatchObject({ fstype: "squashfs", verity: "external" });
    expect((await veritysetupVerify(r.image, join(d, `${NAME}.verity`), r.verity!.rootHash)).ok).toBe(true);
    expect(
      (await opensslVerify(join(d, `${NAME}.roothash.p7s`), join(d, `${NAME}.roothash`), keys.cert)).ok,
    ).toBe(true);
    expect((await verifyImage(r.image, { certificates: [keys.cert] })).ok).toBe(true);
    // The mistake of a real project: NAME.raw.roothash is not what systemd looks for; the image is used unprotected.
    for (const s of ["verity", "roothash", "roothash.p7s"])
      await rename(join(d, `${NAME}.${s}`), join(d, `${NAME}.raw.${s}`));
    expect((await dissectHost(r.image)).json!.mounts.find((m) => m.designator === "root")!.verity).not.toBe(
      "external",
    );
  });
  it("sign-later works for sidecars: sign writes NAME.roothash.p7s", async () => {
    const r = await buildFromDir({
      name: NAME,
      tree,
      base,
      outDir: join(dir, "sidecar-later"),
      format: "erofs",
      verity: "sidecar",
      signLater: true,
    });
    const p7s = await opensslSign(r.verity!.files.roothash!, keys.key, keys.cert, join(dir, "side.p7s"));
    const s = await signImage({ image: r.image, signature: p7s, certificate: keys.cert });
    expect(s.output).toBe(join(dir, "sidecar-later", `${NAME}.roothash.p7s`));
    expect((await verifyImage(r.image, { certificates: [keys.cert] })).ok).toBe(true);
  });
});

describe("bad signing input: a clear error and nothing at the output path", () => {
  const cases: Array<[string, () => Partial<Parameters<typeof buildFromDir>[0]>, RegExp]> = [
    [
      "a key that does not match the certificate",
      () => ({ signing: { key: keys.otherKey, certificate: keys.cert } }),
      /does not belong to the certificate/,
    ],
    [
      "an expired certificate",
      () => ({ signing: { key: keys.expiredKey, certificate: keys.expiredCert } }),
      /not valid now: expired on 2020-02-01/,
    ],
    [
      "a certificate that is not X.509",
      () => ({ signing: { key: keys.key, certificate: keys.key } }),
      /is not an X.509 certificate/,
    ],
    [
      "an encrypted key without its passphrase",
      () => ({ signing: { key: keys.encryptedKey, certificate: keys.cert } }),
      /is encrypted and no passphrase was given/,
    ],
    [
      "an encrypted key with a wrong passphrase",
      () => ({
        signing: { key: keys.encryptedKey, certificate: keys.cert, passphrase: "env:SYSEXTKIT_TEST_WRONG" },
      }),
      /cannot decrypt the private key/,
    ],
    [
      "--sign-later together with a key",
      () => ({ signing: { key: keys.key, certificate: keys.cert }, signLater: true }),
      /exclude each other/,
    ],
  ];
  it.for(cases)("%s", async ([, extra, message]) => {
    process.env.SYSEXTKIT_TEST_WRONG = "not the passphrase";
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const e = (await buildFromDir({ name: NAME, tree, base, outDir: out, format: "ddi", ...extra() }).catch(
      (x: unknown) => x,
    )) as SysextError;
    expect(e).toBeInstanceOf(SysextError);
    expect(e.message).toMatch(message);
    expect(e.hint).toBeTruthy();
    expect(JSON.stringify(e.toJSON())).not.toContain("PRIVATE KEY");
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
  it("an encrypted key with its passphrase (from the environment) signs the same bytes", async () => {
    process.env.SYSEXTKIT_TEST_PASS = PASSPHRASE;
    const r = await build("encrypted", {
      signing: { key: keys.encryptedKey, certificate: keys.cert, passphrase: "env:SYSEXTKIT_TEST_PASS" },
    });
    expect(r.sha256).toBe(signed.sha256);
  });
  it("PEM key text given by value never appears in an error", async () => {
    const pem = await readFile(keys.otherKey, "utf8");
    const e = (await build("by-value", { signing: { key: pem, certificate: keys.cert } }).catch(
      (x: unknown) => x,
    )) as SysextError;
    expect(e.message).toMatch(/PEM text given by value does not belong/);
    expect(`${e.message}${e.hint}${JSON.stringify(e.toJSON())}`).not.toMatch(/BEGIN|MII/);
  });
});
