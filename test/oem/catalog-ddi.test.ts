// The whole OEM catalog published as signed DDIs (`release --format ddi`), read back with independent tools.
import { execa } from "execa";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debPackagesOf, downloadDebs } from "../../examples/debian-bookworm/debs.js";
import { ensureRoot } from "../../scripts/roots.js";
import { CATALOG_DIR, resolveExtensionFiles } from "../../src/manifest/release-spec.js";
import { matchPattern } from "../../src/manifest/sysupdate.js";
import { loadSpecFile } from "../../src/spec/load.js";
import { defaultCacheDir } from "../../src/util/cache.js";
import { cli } from "../helpers/cli.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";
import {
  dissectHost,
  extractPartition,
  opensslVerify,
  partx,
  signatureParts,
  veritysetupVerify,
} from "../image/ddi/tools.js";
import { selfSigned } from "../image/ddi/helpers.js";

const CATALOG = ["oem-ami", "oem-azure", "oem-gce", "oem-openstack", "oem-qemu", "oem-vmware"];
needRoot();
await needTools(
  "debootstrap",
  "apt-get",
  "mkfs.erofs",
  "fsck.erofs",
  "veritysetup",
  "openssl",
  "partx",
  "systemd-dissect",
  "systemd-sysext",
  "unshare",
);

let tmp: string;
let rel: string;
let cert: string;
/** Extension name -> published DDI. */
const images = new Map<string, string>();

describe("the OEM catalog as signed DDIs (release --format ddi)", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-catalog-ddi-"));
    const root = await ensureRoot("bookworm-systemd");
    const debDir = join(defaultCacheDir(), "debs", "amd64");
    const specs = await Promise.all(
      (await resolveExtensionFiles(undefined, CATALOG_DIR)).map((f) => loadSpecFile(f)),
    );
    await downloadDebs(debPackagesOf(specs), debDir, "amd64");
    const [key, verityCert] = await selfSigned(tmp, "verity", "oem extensions", ["rsa:2048"]);
    cert = verityCert;
    await execa("openssl", ["genrsa", "-out", join(tmp, "payload.pem"), "2048"]);
    const out = join(tmp, "release");
    const r = await cli(
      [
        "release",
        "--base",
        root,
        "--arch",
        "x86-64",
        "--format",
        "ddi",
        "--verity-key",
        key,
        "--verity-certificate",
        cert,
        "--key",
        join(tmp, "payload.pem"),
        "--var",
        `debDir=${debDir}`,
        "--base-url",
        "https://updates.example.org/oem/",
        "--out",
        out,
      ],
      { env: { SOURCE_DATE_EPOCH: "1700000000", PATH: process.env.PATH ?? "" } },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    rel = join(out, "x86-64");
    const manifest = JSON.parse(await readFile(join(rel, "manifest.json"), "utf8")) as {
      extensions: Array<{ name: string; image: { file: string } }>;
    };
    for (const e of manifest.extensions) images.set(e.name, join(rel, e.image.file));
  }, 1_800_000);
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("every extension is a signed DDI: partx, veritysetup, openssl and systemd-dissect 252 accept it", async () => {
    expect([...images.keys()].sort()).toEqual(CATALOG);
    for (const [name, image] of images) {
      const work = await mkdtemp(join(tmp, `${name}-`));
      const parts = await partx(image);
      expect(
        parts.map((p) => p.name),
        name,
      ).toEqual(["root-x86-64", "root-x86-64-verity", "root-x86-64-verity-sig"]);
      const sig = await signatureParts(image, parts[2]!, work);
      const rootHash = sig.json.rootHash!;
      const data = await extractPartition(image, parts[0]!, join(work, "root.erofs"));
      const hash = await extractPartition(image, parts[1]!, join(work, "verity"));
      expect((await veritysetupVerify(data, hash, rootHash)).ok, name).toBe(true);
      expect((await opensslVerify(sig.p7s, sig.roothash, cert)).ok, name).toBe(true);
      const d = await dissectHost(image);
      expect(d.exitCode, d.stderr).toBe(0);
      expect(d.json!.mounts.find((m) => m.designator === "root")).toMatchObject({
        fstype: "erofs",
        verity: "signed",
      });
      expect((await cli(["verify", image, "--certificate", cert])).exitCode, name).toBe(0);
      // The file system inside passes erofs-utils' own check, every file decompressed.
      const fsck = await execa("fsck.erofs", ["--extract", data], { reject: false, all: true });
      expect(fsck.exitCode, `${name}: ${String(fsck.all)}`).toBe(0);
    }
  });

  it("the file systems inside merge together with systemd-sysext 252 on the base and the agents are there", async () => {
    const work = await mkdtemp(join(tmp, "merge-"));
    const fs: Array<{ file: string; as: string }> = [];
    for (const [name, image] of images) {
      const parts = await partx(image);
      fs.push({
        file: await extractPartition(image, parts[0]!, join(work, `${name}.erofs`)),
        as: `${name}.raw`,
      });
    }
    await mkdir(join(work, "root"));
    const r = await mergeInScratchRoot({
      root: join(work, "root"),
      host: { osRelease: { ID: "debian", VERSION_ID: "12" } },
      images: fs,
      script:
        'ls "$ROOT/usr/lib/extension-release.d"; for f in usr/bin/vmtoolsd usr/sbin/waagent usr/bin/google_guest_agent usr/sbin/ebsnvme-id usr/sbin/qemu-ga; do test -x "$ROOT/$f" && echo "have $f"; done; true',
    });
    expect(r.exitCode, r.mergeOutput).toBe(0);
    for (const n of CATALOG) expect(r.output).toContain(`extension-release.${n}`);
    expect(r.output).toContain("have usr/bin/vmtoolsd");
    expect(r.output).toContain("have usr/sbin/waagent");
  });

  it("the release directory verifies: payloads, SHA256SUMS and sysupdate transfers name the DDIs", async () => {
    expect((await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: rel })).exitCode).toBe(0);
    const pub = join(tmp, "payload.pub.pem");
    await execa("openssl", ["pkey", "-in", join(tmp, "payload.pem"), "-pubout", "-out", pub]);
    const v = await cli(["verify", rel, "--key", pub]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    const sums = await readFile(join(rel, "SHA256SUMS"), "utf8");
    for (const [name, image] of images) {
      const file = image.slice(rel.length + 1);
      expect(sums).toContain(file);
      // The extension's own transfer picks this very file for a Debian 12 host (systemd-sysupdate itself
      // fetches a DDI in test/manifest/sysupdate-ddi.test.ts).
      const transfer = await readFile(join(rel, `${name}.transfer`), "utf8");
      const pattern = /^\[Source\][^[]*?^MatchPattern=(.*)$/m.exec(transfer)?.[1];
      expect(pattern, transfer).toBeDefined();
      expect(
        matchPattern(pattern!, file, { arch: "x86-64", osVersion: "12" }),
        `${pattern} ${file}`,
      ).toBeDefined();
    }
  });
});
