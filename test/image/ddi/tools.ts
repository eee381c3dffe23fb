// Independent readers of a DDI for tests: partx (libblkid) for the partition table, dd for the partitions.
import { execa } from "execa";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface PartxPartition {
  readonly nr: number;
  readonly start: number;
  readonly sectors: number;
  readonly name: string;
  readonly uuid: string;
  readonly type: string;
  readonly size: number;
  readonly flags: string;
}

/** The partition table as util-linux's libblkid reads it (checks both GPT copies and their CRCs). */
export async function partx(image: string): Promise<PartxPartition[]> {
  const { stdout } = await execa("partx", [
    "--pairs",
    "--bytes",
    "--output",
    "NR,START,SECTORS,NAME,UUID,TYPE,SIZE,FLAGS",
    image,
  ]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const f = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      return {
        nr: Number(f.NR),
        start: Number(f.START),
        sectors: Number(f.SECTORS),
        name: f.NAME!,
        uuid: f.UUID!,
        type: f.TYPE!,
        size: Number(f.SIZE),
        flags: f.FLAGS!,
      };
    });
}

/** Copy partition `p` of `image` to `out` with dd. */
export async function extractPartition(image: string, p: PartxPartition, out: string): Promise<string> {
  await execa("dd", [
    `if=${image}`,
    `of=${out}`,
    "bs=512",
    `skip=${p.start}`,
    `count=${p.sectors}`,
    "status=none",
  ]);
  return out;
}

/** The signature partition's JSON object, with the PKCS#7 written to `dir`/sig.p7s and the root hash to `dir`/roothash. */
export async function signatureParts(
  image: string,
  p: PartxPartition,
  dir: string,
): Promise<{ json: Record<string, string>; p7s: string; roothash: string }> {
  const raw = await readFile(await extractPartition(image, p, join(dir, "sig.part")));
  const json = JSON.parse(raw.subarray(0, raw.indexOf(0)).toString()) as Record<string, string>;
  const { writeFile } = await import("node:fs/promises");
  const p7s = join(dir, "sig.p7s");
  const roothash = join(dir, "roothash.txt");
  await writeFile(p7s, Buffer.from(json.signature!, "base64"));
  await writeFile(roothash, json.rootHash!);
  return { json, p7s, roothash };
}

/** `openssl cms -verify` of a detached root hash signature: exit code and stderr. */
export async function opensslVerify(
  p7s: string,
  content: string,
  cert: string,
): Promise<{ ok: boolean; stderr: string }> {
  const r = await execa(
    "openssl",
    [
      "cms",
      "-verify",
      "-binary",
      "-inform",
      "DER",
      "-in",
      p7s,
      "-content",
      content,
      "-CAfile",
      cert,
      "-purpose",
      "any",
      "-out",
      "/dev/null",
    ],
    { reject: false },
  );
  return { ok: r.exitCode === 0, stderr: String(r.stderr) };
}

/** `veritysetup verify DATA HASH ROOTHASH`: exit code and output. */
export async function veritysetupVerify(
  data: string,
  hash: string,
  rootHash: string,
): Promise<{ ok: boolean; out: string }> {
  const r = await execa("veritysetup", ["verify", data, hash, rootHash], { reject: false, all: true });
  return { ok: r.exitCode === 0, out: String(r.all) };
}

/** systemd-dissect --json=short of the host (252). */
export async function dissectHost(
  image: string,
): Promise<{ exitCode: number; json: DissectJson | undefined; stderr: string }> {
  const r = await execa("systemd-dissect", ["--json=short", image], { reject: false });
  return {
    exitCode: r.exitCode ?? -1,
    json: r.exitCode === 0 ? (JSON.parse(String(r.stdout)) as DissectJson) : undefined,
    stderr: String(r.stderr),
  };
}

export interface DissectJson {
  readonly useSystemExtension?: boolean;
  readonly mounts: ReadonlyArray<{
    readonly designator: string;
    readonly partition_uuid: string | null;
    readonly partition_label: string | null;
    readonly fstype: string | null;
    readonly architecture: string | null;
    readonly verity: string | null;
  }>;
}
