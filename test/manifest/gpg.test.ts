// Signed checksums: keys made by the real gpg sign SHA256SUMS reproducibly, gpg --verify accepts the signature, key input never leaks.
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exportPublicKeyring,
  loadGpgSigningKey,
  readPublicKeyring,
  signDetached,
  verifyDetached,
} from "../../src/manifest/gpg.js";
import { gpgVerify, makeGpgKey, type TestGpgKey } from "../helpers/gpg.js";
import { needTools } from "../helpers/tools.js";

await needTools("gpg", "gpgconf");
let dir = "";
let ed: TestGpgKey;
let rsa: TestGpgKey;
const SUMS = `${"a".repeat(64)}  oem-x-4081.2.0-1.1-x86-64.raw\n`;

describe("OpenPGP signatures of SHA256SUMS", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-gpg-"));
    ed = await makeGpgKey(dir, "ed");
    rsa = await makeGpgKey(dir, "rsa", { algo: "rsa2048", passphrase: "correct horse" });
    await writeFile(join(dir, "SHA256SUMS"), SUMS);
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("signs reproducibly; gpg --verify with the exported keyring accepts it and rejects changed data", async () => {
    const key = await loadGpgSigningKey(ed.secret);
    expect(key.fingerprint).toBe(ed.fingerprint);
    const sig = await signDetached(Buffer.from(SUMS), key);
    expect(Buffer.from(await signDetached(Buffer.from(SUMS), key)).equals(Buffer.from(sig))).toBe(true);
    await writeFile(join(dir, "SHA256SUMS.gpg"), sig);
    await writeFile(join(dir, "ring.pgp"), exportPublicKeyring(key));
    const good = await gpgVerify(
      dir,
      join(dir, "ring.pgp"),
      join(dir, "SHA256SUMS.gpg"),
      join(dir, "SHA256SUMS"),
    );
    expect(good.exitCode, good.output).toBe(0);
    expect(good.output).toContain("Good signature");
    // The exported keyring holds the public key only.
    const packets = await execa("gpg", ["--list-packets", join(dir, "ring.pgp")], { reject: false });
    expect(packets.stdout).toContain(":public key packet:");
    expect(packets.stdout).not.toContain("secret key packet");

    await writeFile(join(dir, "SHA256SUMS.changed"), SUMS.replace("a", "b"));
    const bad = await gpgVerify(
      dir,
      join(dir, "ring.pgp"),
      join(dir, "SHA256SUMS.gpg"),
      join(dir, "SHA256SUMS.changed"),
    );
    expect(bad.exitCode).not.toBe(0);
    expect(bad.output).toContain("BAD signature");
  });

  it("dates the signature SOURCE_DATE_EPOCH, never before the key was made", async () => {
    const key = await loadGpgSigningKey(ed.secret);
    const created = Math.ceil(key.signingKeyCreated.getTime() / 1000);
    const time = async (epoch: number) => {
      await writeFile(join(dir, "t.sig"), await signDetached(Buffer.from(SUMS), key, epoch));
      const p = await execa("gpg", ["--list-packets", join(dir, "t.sig")]);
      return Number(/created (\d+)/.exec(p.stdout)![1]);
    };
    expect(await time(0)).toBe(created);
    expect(await time(created + 1000)).toBe(created + 1000);
  });

  it("reads keys from a file, env:NAME and a protected key with its passphrase", async () => {
    process.env.SXK_TEST_GPG = await readFile(ed.secret, "utf8");
    process.env.SXK_TEST_PASS = "correct horse\n";
    try {
      expect((await loadGpgSigningKey("env:SXK_TEST_GPG")).fingerprint).toBe(ed.fingerprint);
      const k = await loadGpgSigningKey(rsa.secret, { passphrase: "env:SXK_TEST_PASS" });
      expect(k.fingerprint).toBe(rsa.fingerprint);
      const sig = await signDetached(Buffer.from(SUMS), k);
      await writeFile(join(dir, "rsa.sig"), sig);
      const v = await gpgVerify(dir, rsa.public, join(dir, "rsa.sig"), join(dir, "SHA256SUMS"));
      expect(v.exitCode, v.output).toBe(0);
    } finally {
      delete process.env.SXK_TEST_GPG;
      delete process.env.SXK_TEST_PASS;
    }
  });

  it("refuses a protected key without or with a wrong passphrase, a public key and garbage, never echoing the key", async () => {
    const armored = await readFile(rsa.secret, "utf8");
    const body = armored.split("\n")[3]!;
    await writeFile(join(dir, "wrong.pass"), "wrong\n");
    const pubArmored = await execa("gpg", [
      "--homedir",
      join(dir, "gpghome-rsa"),
      "--armor",
      "--export",
      rsa.fingerprint,
    ]);
    await writeFile(join(dir, "pub.asc"), pubArmored.stdout);
    await writeFile(
      join(dir, "garbage.asc"),
      "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot a key\n-----END PGP PRIVATE KEY BLOCK-----\n",
    );
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => loadGpgSigningKey(rsa.secret), /protected by a passphrase/],
      [() => loadGpgSigningKey(rsa.secret, { passphrase: join(dir, "wrong.pass") }), /does not unlock/],
      [() => loadGpgSigningKey(join(dir, "pub.asc")), /public key; signing needs the secret key/],
      [() => loadGpgSigningKey(join(dir, "garbage.asc")), /is not an OpenPGP secret key/],
      [() => loadGpgSigningKey(armored), /protected by a passphrase/],
      [() => loadGpgSigningKey(join(dir, "absent.asc")), /cannot read the OpenPGP secret key from file/],
    ];
    for (const [p, re] of cases) {
      const e = (await p().then(
        () => undefined,
        (x: unknown) => x,
      )) as { code: string; message: string; hint?: string; cause?: Error };
      expect(e?.code).toBe("KEY_INVALID");
      expect(e.message).toMatch(re);
      const all = `${e.message} ${e.hint ?? ""} ${e.cause?.message ?? ""}`;
      expect(all).not.toContain(body);
      expect(all).not.toContain("BEGIN PGP");
    }
  });

  it("verifyDetached names a signature by another key and changed data", async () => {
    const key = await loadGpgSigningKey(ed.secret);
    const sig = await signDetached(Buffer.from(SUMS), key);
    const own = await readPublicKeyring([ed.public]);
    const other = await readPublicKeyring([join(dir, "pub.asc")]);
    expect(await verifyDetached(Buffer.from(SUMS), sig, own)).toBeUndefined();
    expect(await verifyDetached(Buffer.from(`${SUMS}x`), sig, own)).toMatch(/^BAD signature/);
    expect(await verifyDetached(Buffer.from(SUMS), sig, other)).toMatch(/not in the given keyring/);
    expect(await verifyDetached(Buffer.from(SUMS), Buffer.from("junk"), own)).toMatch(
      /not an OpenPGP signature/,
    );
  });
});
