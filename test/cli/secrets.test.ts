// Keys given by value, from env:NAME or from standard input: accepted everywhere, never echoed in any output.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/index.js";
import { cli, helloReleaseArgs, type CliResult } from "../helpers/cli.js";
import { needTools } from "../helpers/tools.js";
import { genRsa } from "../payload/crau-helpers.js";

const arch = hostArch();
let dir: string;
let pem: string;
let pubPem: string;
let image: string;

/** The base64 body lines of a PEM (what a leaked key would show). */
const bodyLines = (text: string) => text.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));

/** No output of a run carries key material: no PEM armour, no base64 line of the private key. */
function expectNoKeyMaterial(r: CliResult): void {
  const all = `${r.stdout}\n${r.stderr}`;
  expect(all).not.toContain("PRIVATE KEY");
  expect(all).not.toContain("-----BEGIN");
  for (const line of bodyLines(pem)) expect(all).not.toContain(line);
}

beforeAll(async () => {
  await needTools("mksquashfs", "openssl", "bzip2");
  dir = await mkdtemp(join(tmpdir(), "sysextkit-secrets-"));
  const k = genRsa(dir, "key");
  pem = await readFile(k.priv, "utf8");
  pubPem = await readFile(k.pub, "utf8");
  await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=1.0\n");
  image = join(dir, "img.raw");
  await writeFile(image, Buffer.alloc(8192, 0x0a));
});

describe("--key PEM text, env:NAME and - are accepted and never printed", () => {
  it("payload and verify with the key given by value, from the environment and from standard input", async () => {
    const byValue = await cli(["payload", image, "--key", pem, "--out", join(dir, "v"), "--json"]);
    expect(byValue.exitCode, byValue.stderr).toBe(0);
    expectNoKeyMaterial(byValue);
    const fromEnv = await cli(["payload", image, "--key", "env:SIGNING_KEY", "--out", join(dir, "e")], {
      env: { SIGNING_KEY: pem },
    });
    expect(fromEnv.exitCode, fromEnv.stderr).toBe(0);
    const fromStdin = await cli(["payload", image, "--key", "-", "--out", join(dir, "s")], { input: pem });
    expect(fromStdin.exitCode, fromStdin.stderr).toBe(0);
    // Same key, same image: the same payload whichever way the key came in.
    const a = await readFile(join(dir, "v/img.gz"));
    expect((await readFile(join(dir, "e/img.gz"))).equals(a)).toBe(true);
    expect((await readFile(join(dir, "s/img.gz"))).equals(a)).toBe(true);

    for (const key of [pubPem, pem]) {
      const v = await cli(["verify", join(dir, "v/img.gz"), "--key", key, "--json"]);
      expect(v.exitCode, v.stdout).toBe(0);
      expect(JSON.parse(v.stdout).signatureCheck).toEqual({
        checked: true,
        trustedKey: "PEM text given by value",
      });
      expectNoKeyMaterial(v);
    }
  });

  it("a broken, encrypted or misplaced key given by value fails without echoing it", async () => {
    const broken = pem.slice(0, 400);
    const runs = await Promise.all([
      cli(["payload", image, "--key", broken, "--out", join(dir, "x")]),
      cli(["payload", image, "--key", broken, "--out", join(dir, "x"), "--json"]),
      cli(["payload", image, "--key", pem.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY")]),
      cli(["verify", join(dir, "v/img.gz"), "--key", broken, "--json"]),
      cli(["verify", pem, "--json"]),
      cli(["payload", image, "--kye", pem]),
      cli(["payload", image, "--key", "env:UNSET_KEY_VAR"], { env: { OTHER: pem } }),
      cli(helloReleaseArgs({ dir, arch, keys: [broken], out: join(dir, "rel") }, "--json")),
    ]);
    for (const r of runs) {
      expect(r.exitCode).not.toBe(0);
      expectNoKeyMaterial(r);
    }
  });

  it("release signs with a key given by value and prints nothing of it", async () => {
    const out = join(dir, "rel-ok");
    const r = await cli(helloReleaseArgs({ dir, arch, keys: [pem], out }, "--json"));
    expect(r.exitCode, r.stderr).toBe(0);
    expectNoKeyMaterial(r);
    const v = await cli(["verify", join(out, arch), "--key", "-"], { input: pubPem });
    expect(v.exitCode, v.stdout).toBe(0);
    expectNoKeyMaterial(v);
  });
});
