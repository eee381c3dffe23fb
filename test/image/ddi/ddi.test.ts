// DDIs read back by three systemd generations (252 on the host, 257 and 262 in cached roots), veritysetup and openssl.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRoot } from "../../../scripts/roots.js";
import type { BuildResult } from "../../../src/build.js";
import { inspectImage } from "../../../src/image/inspect.js";
import { verifyImage } from "../../../src/image/ddi/verify.js";
import { needRoot, needTools } from "../../helpers/tools.js";
import {
  buildFromDir,
  flipByte,
  makeBase,
  makeKeys,
  makeTree,
  runInRoot,
  scratch,
  type Keys,
} from "./helpers.js";
import {
  dissectHost,
  extractPartition,
  opensslVerify,
  partx,
  signatureParts,
  veritysetupVerify,
  type DissectJson,
} from "./tools.js";

const NAME = "ddi-demo";
const TYPES = {
  root: "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
  "root-verity": "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
  "root-verity-sig": "41092b05-9fc8-4523-994f-2def0408b176",
};

let dir: string;
let keys: Keys;
let base: string;
let tree: string;
const built: Record<string, BuildResult> = {};

beforeAll(async () => {
  needRoot();
  await needTools(
    "mkfs.erofs",
    "mksquashfs",
    "veritysetup",
    "openssl",
    "systemd-dissect",
    "partx",
    "unshare",
    "chroot",
  );
  dir = await scratch("sysextkit-ddi-");
  keys = await makeKeys(join(dir, "keys"));
  base = await makeBase(dir);
  tree = await makeTree(dir, NAME);
  const signing = { key: keys.key, certificate: keys.cert };
  built.erofs = await buildFromDir({
    name: NAME,
    tree,
    base,
    outDir: join(dir, "erofs"),
    format: "ddi",
    signing,
  });
  built.squashfs = await buildFromDir({
    name: NAME,
    tree,
    base,
    outDir: join(dir, "squashfs"),
    format: "ddi",
    filesystem: "squashfs",
    signing,
  });
  built.unsigned = await buildFromDir({
    name: NAME,
    tree,
    base,
    outDir: join(dir, "unsigned"),
    format: "ddi",
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What a dissect JSON says about our three partitions, checked against the root hash. */
function expectDissect(json: DissectJson, rootHash: string, fstype: string, signed: boolean): void {
  const byDesignator = Object.fromEntries(json.mounts.map((m) => [m.designator, m]));
  const uuid = (h: string) =>
    `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  expect(byDesignator.root).toMatchObject({
    partition_uuid: uuid(rootHash.slice(0, 32)),
    partition_label: "root-x86-64",
    fstype,
    architecture: "x86-64",
    verity: signed ? "signed" : "yes",
  });
  expect(byDesignator["root-verity"]).toMatchObject({
    partition_uuid: uuid(rootHash.slice(32)),
    partition_label: "root-x86-64-verity",
    fstype: "DM_verity_hash",
  });
  if (signed)
    expect(byDesignator["root-verity-sig"]).toMatchObject({
      partition_label: "root-x86-64-verity-sig",
      fstype: "verity_hash_signature",
    });
  else expect(byDesignator["root-verity-sig"]).toBeUndefined();
  expect(json.useSystemExtension).toBe(true);
}

describe("layout, read back by libblkid (partx)", () => {
  it("root / root-verity / root-verity-sig with the DPS types, UUIDs from the root hash, repart's labels, 4 KiB aligned", async () => {
    const r = built.erofs!;
    const parts = await partx(r.image);
    expect(parts.map((p) => [p.name, p.type, p.flags])).toEqual([
      ["root-x86-64", TYPES.root, "0x1000000000000000"],
      ["root-x86-64-verity", TYPES["root-verity"], "0x1000000000000000"],
      ["root-x86-64-verity-sig", TYPES["root-verity-sig"], "0x1000000000000000"],
    ]);
    const h = r.verity!.rootHash;
    expect(parts[0]!.uuid.replace(/-/g, "")).toBe(h.slice(0, 32));
    expect(parts[1]!.uuid.replace(/-/g, "")).toBe(h.slice(32));
    expect(parts[0]!.start * 512).toBe(1 << 20);
    for (const p of parts) expect((p.start * 512) % 4096).toBe(0);
    expect(parts[1]!.start).toBe(parts[0]!.start + parts[0]!.sectors);
    expect(parts[2]!.size).toBe(16384);
    expect(r.size % 4096).toBe(0);
  });
  it("byte-identical when built again from the same inputs and key; other content, other salt", async () => {
    const again = await buildFromDir({
      name: NAME,
      tree,
      base,
      outDir: join(dir, "again"),
      format: "ddi",
      signing: { key: keys.key, certificate: keys.cert },
    });
    expect(again.sha256).toBe(built.erofs!.sha256);
    const other = await buildFromDir({
      name: NAME,
      tree: await makeTree(dir, NAME, "b"),
      base,
      outDir: join(dir, "other"),
      format: "ddi",
    });
    expect(other.verity!.seed).not.toBe(built.erofs!.verity!.seed);
  });
});

describe.each(["erofs", "squashfs"] as const)("signed %s DDI", (fs) => {
  it("systemd-dissect 252 (host) lists the three partitions with the root hash and 'signed'", async () => {
    const r = built[fs]!;
    const d = await dissectHost(r.image);
    expect(d.exitCode, d.stderr).toBe(0);
    expectDissect(d.json!, r.verity!.rootHash, fs, true);
  });
  it.for(["trixie-tools", "sid-tools"] as const)(
    "systemd-dissect of %s (257 / 262) too",
    async (rootName) => {
      const r = built[fs]!;
      const run = await runInRoot(
        await ensureRoot(rootName),
        [r.image],
        `systemd-dissect --version | head -1 >&2; systemd-dissect --json=short ${NAME}.raw`,
      );
      expect(run.exitCode, run.stderr).toBe(0);
      process.stderr.write(`${rootName}: ${run.stderr.split("\n")[0]} dissects ${fs} DDI\n`);
      expectDissect(JSON.parse(run.stdout) as DissectJson, r.verity!.rootHash, fs, true);
    },
  );
  it("veritysetup verify accepts the data with the hash partition and the root hash; openssl cms -verify the signature", async () => {
    const r = built[fs]!;
    const parts = await partx(r.image);
    const work = await scratch("sysextkit-ddi-parts-");
    try {
      const data = await extractPartition(r.image, parts[0]!, join(work, "data"));
      const hash = await extractPartition(r.image, parts[1]!, join(work, "hash"));
      expect((await veritysetupVerify(data, hash, r.verity!.rootHash)).ok).toBe(true);
      const sig = await signatureParts(r.image, parts[2]!, work);
      expect(sig.json.rootHash).toBe(r.verity!.rootHash);
      expect((await opensslVerify(sig.p7s, sig.roothash, keys.cert)).ok).toBe(true);
      expect((await opensslVerify(sig.p7s, sig.roothash, keys.otherCert)).ok).toBe(false);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe("a flipped byte", () => {
  it.for([
    ["data", 0, 5000],
    ["hash tree", 1, 4096 + 40],
    ["signature", 2, 1000],
  ] as const)(
    "in the %s is caught by veritysetup/openssl and by sysextkit verify",
    async ([what, partIndex, within]) => {
      const work = await scratch("sysextkit-ddi-flip-");
      try {
        const img = join(work, `${NAME}.raw`);
        await writeFile(img, await readFile(built.erofs!.image));
        const parts = await partx(img);
        await flipByte(img, parts[partIndex]!.start * 512 + within);
        const rootHash = built.erofs!.verity!.rootHash;
        const data = await extractPartition(img, parts[0]!, join(work, "data"));
        const hash = await extractPartition(img, parts[1]!, join(work, "hash"));
        const vs = await veritysetupVerify(data, hash, rootHash);
        const sig = await signatureParts(img, parts[2]!, work);
        await writeFile(join(work, "expected-roothash"), rootHash);
        const ossl = await opensslVerify(sig.p7s, join(work, "expected-roothash"), keys.cert);
        const ours = await verifyImage(img, { certificates: [keys.cert] });
        const dissect = await dissectHost(img);
        process.stderr.write(
          `flip in ${what}: veritysetup ${vs.ok ? "accepts" : "REFUSES"}, openssl ${ossl.ok ? "accepts" : "REFUSES"}, sysextkit verify ${ours.ok ? "accepts" : `REFUSES (${ours.failures.join("; ")})`}, systemd-dissect 252 without dm-verity: exit ${dissect.exitCode} (it checks signatures and data only when activating, in a guest)\n`,
        );
        expect(ours.ok).toBe(false);
        if (what === "signature") {
          expect(ossl.ok).toBe(false);
          expect(vs.ok).toBe(true);
          expect(ours.failures.join()).toMatch(/signature/);
        } else {
          expect(vs.ok).toBe(false);
          expect(ossl.ok).toBe(true);
          expect(ours.failures.join()).toMatch(
            what === "data" ? /data block 1 .* does not match the hash tree/ : /hash tree corrupted/,
          );
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  );
});

describe("unsigned DDI", () => {
  it("is allowed, says so, and dissects as verity without a signature partition", async () => {
    const r = built.unsigned!;
    expect(r.verity).toMatchObject({ kind: "ddi", signed: false, signLater: false });
    expect(r.findings.map((f) => f.code)).toContain("verity-unsigned");
    expect(await readFile(r.verity!.files.roothash!, "utf8")).toBe(r.verity!.rootHash);
    // With NAME.roothash next to it systemd 252 sets it up with dm-verity; without, it cannot know the root hash.
    const d = await dissectHost(r.image);
    expectDissect(d.json!, r.verity!.rootHash, "erofs", false);
    const bare = join(dir, "bare", `${NAME}.raw`);
    await mkdir(join(dir, "bare"), { recursive: true });
    await writeFile(bare, await readFile(r.image));
    expect((await dissectHost(bare)).json!.mounts.find((m) => m.designator === "root")!.verity).toBe("no");
    const v = await verifyImage(r.image);
    expect(v.ok).toBe(true);
    expect(v.warnings.join()).toMatch(/not signed/);
    expect((await verifyImage(r.image, { certificates: [keys.cert] })).ok).toBe(false);
  });
});

describe("inspect", () => {
  it("shows partitions, root hash, signer and the file list of the root partition", async () => {
    const info = await inspectImage(built.squashfs!.image);
    expect(info).toMatchObject({
      format: "ddi",
      filesystem: "squashfs",
      releaseFile: `extension-release.${NAME}`,
    });
    expect(info.verity).toMatchObject({
      kind: "ddi",
      signed: true,
      rootHash: built.squashfs!.verity!.rootHash,
      signer: "CN=sysextkit test signer",
    });
    expect(info.verity!.partitions!.map((p) => p.role)).toEqual(["root", "root-verity", "root-verity-sig"]);
    expect(info.files.map((f) => f.path)).toContain(`usr/share/${NAME}/data.bin`);
  });
});
