// Fixture for the sysupdate tests: releases A, B, C made with the CLI, a signed feed of them, tampered copies, a stand-in OS feed.
//
//   A: OS flatcar 4081.2.0, extension oem-x 1.0    B: 4081.2.0, 1.1    C: 4081.3.0, 1.1
// Every release is signed with the "good" key (read from a file, env:NAME and standard input in turn);
// its sysupdate source drop-in points at /staging/ (nothing there): hosts override it to /feed/.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostArch } from "../../src/base/arch.js";
import { renderSha256Sums } from "../../src/manifest/formats.js";
import { loadGpgSigningKey, signDetached } from "../../src/manifest/gpg.js";
import { cli } from "../helpers/cli.js";
import { makeGpgKey, type TestGpgKey } from "../helpers/gpg.js";
import { serveDirectories, type StaticServer } from "../helpers/http.js";
import { genRsa } from "../payload/crau-helpers.js";

export const ARCH = hostArch();
export const NAME = "oem-x";

export interface UpdateFixture {
  readonly dir: string;
  readonly server: StaticServer;
  /** Release directories (OUT/<arch>/). */
  readonly rel: { readonly A: string; readonly B: string; readonly C: string };
  readonly feed: string;
  /** The good key's public keyring, written by `feed --gpg-export-public`. */
  readonly pubring: string;
  readonly good: TestGpgKey;
  readonly other: TestGpgKey;
  /** URL prefixes served: feed, staging (empty), bad-sums, other-key, no-sig, os. */
  url(prefix: string): string;
  dispose(): Promise<void>;
}

const spec = (version: string) => `name: ${NAME}
metadata:
  displayName: OEM x agents
  version: "${version}"
sources:
  - type: file
    path: usr/share/${NAME}/version
    content: "${NAME} ${version}\\n"
`;

async function run(args: string[], options: Parameters<typeof cli>[1] = {}): Promise<string> {
  const r = await cli(args, options);
  if (r.exitCode !== 0)
    throw new Error(`sysextkit ${args[0]} failed (${r.exitCode}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export async function makeUpdateFixture(): Promise<UpdateFixture> {
  const dir = await mkdtemp(join(tmpdir(), "sysextkit-sysupdate-"));
  const d = (...p: string[]) => join(dir, ...p);
  const dirs = { feed: d("feed"), staging: d("staging"), tamper: d("tamper"), os: d("osfeed") };
  for (const x of Object.values(dirs)) await mkdir(x, { recursive: true });
  const server = await serveDirectories({
    "/feed/": dirs.feed,
    "/staging/": dirs.staging,
    "/bad-sums/": d("tamper/bad-sums"),
    "/other-key/": d("tamper/other-key"),
    "/no-sig/": d("tamper/no-sig"),
    "/os/": dirs.os,
  });
  const url = (prefix: string) => `${server.url}/${prefix}/`;
  const good = await makeGpgKey(dir, "good");
  const other = await makeGpgKey(dir, "other");
  const crau = genRsa(dir, "crau");
  for (const v of ["1.0", "1.1"]) {
    await mkdir(d(`spec-${v}`));
    await writeFile(d(`spec-${v}`, "extension.yaml"), spec(v));
  }
  for (const os of ["4081.2.0", "4081.3.0"])
    await writeFile(d(`os-release-${os}`), `ID=flatcar\nVERSION_ID=${os}\n`);

  const secret = await readFile(good.secret, "utf8");
  const releases = [
    ["A", "1.0", "4081.2.0", good.secret, {}],
    ["B", "1.1", "4081.2.0", "env:SXK_GPG_KEY", { env: { SXK_GPG_KEY: secret } }],
    ["C", "1.1", "4081.3.0", "-", { input: secret }],
  ] as const;
  for (const [id, v, os, key, opts] of releases) {
    await run(
      [
        "release",
        "--extension",
        d(`spec-${v}`),
        "--base",
        d(`os-release-${os}`),
        "--arch",
        ARCH,
        "--key",
        crau.priv,
        "--gpg-key",
        key,
        "--base-url",
        `${server.url}/omaha/${os}/`,
        "--sysupdate-url",
        url("staging"),
        "--out",
        d(`rel-${id}`),
      ],
      opts,
    );
  }
  const rel = { A: d("rel-A", ARCH), B: d("rel-B", ARCH), C: d("rel-C", ARCH) };
  // The feed grows as releases come out: A first, then B and C (the 4081.2.0 staging name moves to B).
  await run(["feed", dirs.feed, rel.A, "--gpg-key", good.secret]);
  await run([
    "feed",
    dirs.feed,
    rel.B,
    rel.C,
    "--gpg-key",
    good.secret,
    "--gpg-export-public",
    d("pubring.pgp"),
  ]);

  // Tampered copies: a changed hash in SHA256SUMS, a signature by another key, no signature at all.
  const copy = async (name: string) => {
    await cp(dirs.feed, d("tamper", name), { recursive: true });
    return d("tamper", name);
  };
  const bad = await copy("bad-sums");
  const sums = await readFile(join(bad, "SHA256SUMS"), "utf8");
  await writeFile(
    join(bad, "SHA256SUMS"),
    sums.replace(/^([0-9a-f])/, (c) => (c === "0" ? "1" : "0")),
  );
  const otherKey = await copy("other-key");
  const otherSigner = await loadGpgSigningKey(other.secret);
  await writeFile(join(otherKey, "SHA256SUMS.gpg"), await signDetached(Buffer.from(sums), otherSigner));
  await rm(join(await copy("no-sig"), "SHA256SUMS.gpg"));

  // A stand-in for the OS's own images, for the OS component the staging transfer joins.
  const osSums = [];
  for (const os of ["4081.2.0", "4081.3.0"]) {
    const data = Buffer.from(`flatcar ${os} usr image stand-in\n`);
    await writeFile(join(dirs.os, `flatcar_${os}.img`), data);
    const { createHash } = await import("node:crypto");
    osSums.push({ name: `flatcar_${os}.img`, sha256: createHash("sha256").update(data).digest("hex") });
  }
  const osSumsText = renderSha256Sums(osSums);
  await writeFile(join(dirs.os, "SHA256SUMS"), osSumsText);
  const signer = await loadGpgSigningKey(good.secret);
  await writeFile(join(dirs.os, "SHA256SUMS.gpg"), await signDetached(Buffer.from(osSumsText), signer));

  return {
    dir,
    server,
    rel,
    feed: dirs.feed,
    pubring: d("pubring.pgp"),
    good,
    other,
    url,
    async dispose() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
