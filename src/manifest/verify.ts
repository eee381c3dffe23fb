// verifyRelease: every file a manifest names exists with its size and hashes, all manifests agree, payloads verify.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { digestFile, exists, type FileDigest } from "../util/fs.js";
import { verifyPayload } from "../payload/verify.js";
import { crauPayloads, omahaFileName, parseSha256Sums } from "./formats.js";
import { checkSignedSums, SIGNATURE_FILE } from "./gpg.js";
import { releaseManifestSchema, type ReleaseManifest } from "./schema.js";
import { sysupdateFailures } from "./sysupdate-check.js";

export interface VerifyReleaseOptions {
  readonly publicKeys?: readonly string[];
  /** OpenPGP public keys or keyrings (file, env:NAME, -) SHA256SUMS.gpg must be signed by. */
  readonly gpgPublicKeys?: readonly string[];
}

export interface ReleaseVerifyReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly failures: string[];
  readonly warnings: string[];
  readonly manifest?: ReleaseManifest;
}

type Attrs = Record<string, string>;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Check a release directory written by writeRelease; never throws for a bad release. */
export async function verifyRelease(
  dir: string,
  options: VerifyReleaseOptions = {},
): Promise<ReleaseVerifyReport> {
  const failures: string[] = [];
  const warnings: string[] = [];
  const done = (manifest?: ReleaseManifest): ReleaseVerifyReport => ({
    ok: failures.length === 0,
    dir,
    failures,
    warnings,
    ...(manifest ? { manifest } : {}),
  });
  let m: ReleaseManifest;
  try {
    m = releaseManifestSchema.parse(JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")));
  } catch (e) {
    failures.push(`manifest.json missing or invalid: ${(e as Error).message.split("\n")[0]}`);
    return done();
  }
  const digests = new Map<string, FileDigest>();
  /** A published file's digest, or undefined after recording `missing` (or why it cannot be read). */
  const digestOf = async (name: string, missing: string): Promise<FileDigest | undefined> => {
    const cached = digests.get(name);
    if (cached) return cached;
    const path = join(dir, name);
    if (!(await exists(path))) return void failures.push(missing);
    try {
      const d = await digestFile(path);
      digests.set(name, d);
      return d;
    } catch (e) {
      return void failures.push(`${name}: cannot be read: ${(e as Error).message}`);
    }
  };
  const checkFile = async (name: string, want: { size: number; sha256: string; sha1Base64?: string }) => {
    const d = await digestOf(name, `${name}: named by manifest.json but missing`);
    if (!d) return;
    if (d.size !== want.size) failures.push(`${name}: size ${d.size}, manifest.json says ${want.size}`);
    if (d.sha256 !== want.sha256)
      failures.push(`${name}: sha256 ${d.sha256}, manifest.json says ${want.sha256}`);
    if (want.sha1Base64 && d.sha1Base64 !== want.sha1Base64)
      failures.push(`${name}: sha1 differs from manifest.json`);
  };

  for (const e of m.extensions) {
    await checkFile(e.image.file, e.image);
    for (const p of e.payloads) {
      await checkFile(p.file, p);
      if (p.kind !== "crau" || !(await exists(join(dir, p.file)))) continue;
      const side = await readFile(join(dir, `${p.file}.sha256`), "utf8").catch(() => undefined);
      if (side !== `${p.sha256}  ${p.file}\n`)
        failures.push(`${p.file}.sha256: missing or does not hold the payload's SHA-256`);
      const r = await verifyPayload(join(dir, p.file), {
        ...(options.publicKeys ? { publicKeys: options.publicKeys } : {}),
        expectedImage: join(dir, e.image.file),
      });
      for (const f of r.failures) failures.push(`${p.file}: ${f}`);
      for (const w of r.warnings) warnings.push(`${p.file}: ${w}`);
    }
    await checkFile(e.sysupdate.osImage, e.image);
    failures.push(...(await sysupdateFailures(dir, m, e)));
  }

  // Omaha: main first and required, extras after with the manifest's hashes.
  const extras = crauPayloads(m);
  const omahaName = omahaFileName(m);
  const omahaText = await readFile(join(dir, omahaName), "utf8").catch(() => undefined);
  if (!omahaText) failures.push(`${omahaName}: missing`);
  else {
    try {
      const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
        omahaText,
      ) as Record<string, unknown>;
      const root = (m.mainPayload ? (doc.manifest as Record<string, unknown>)?.packages : doc.packages) as
        { package?: Attrs | Attrs[] } | undefined;
      const pkgs = asArray(root?.package);
      const want: Attrs[] = [
        ...(m.mainPayload
          ? [
              {
                name: m.mainPayload.name,
                hash: m.mainPayload.sha1Base64,
                size: String(m.mainPayload.size),
                required: "true",
              },
            ]
          : []),
        ...extras.map((p) => ({
          name: p.file,
          hash: p.sha1Base64,
          hash_sha256: p.sha256,
          size: String(p.size),
          required: "false",
        })),
      ];
      if (pkgs.length !== want.length)
        failures.push(`${omahaName}: ${pkgs.length} packages, manifest.json implies ${want.length}`);
      want.forEach((w, i) => {
        const got = pkgs[i];
        for (const [k, v] of Object.entries(w))
          if (got?.[k] !== v)
            failures.push(
              `${omahaName}: package ${i} (${w.name}) ${k}=${got?.[k] ?? "(none)"}, expected ${v}`,
            );
      });
      if (m.mainPayload) {
        const action = ((doc.manifest as Record<string, unknown>)?.actions as { action?: Attrs } | undefined)
          ?.action;
        const sha = Buffer.from(m.mainPayload.sha256, "hex").toString("base64");
        if (action?.event !== "postinstall" || action.sha256 !== sha)
          failures.push(`${omahaName}: postinstall action missing or its sha256 is not the main payload's`);
      }
    } catch (e) {
      failures.push(`${omahaName}: does not parse as XML: ${(e as Error).message}`);
    }
  }

  // Nebraska: extra_files match the CrAU payloads.
  try {
    const neb = JSON.parse(await readFile(join(dir, "nebraska-package.json"), "utf8")) as Partial<Attrs> & {
      extra_files?: Attrs[];
    };
    const files = neb.extra_files ?? [];
    if (files.length !== extras.length)
      failures.push(`nebraska-package.json: ${files.length} extra_files, expected ${extras.length}`);
    extras.forEach((p, i) => {
      const f = files[i];
      if (
        !f ||
        f.name !== p.file ||
        f.size !== String(p.size) ||
        f.hash !== p.sha1Base64 ||
        f.hash256 !== p.sha256
      ) {
        failures.push(`nebraska-package.json: extra_files[${i}] does not match ${p.file}`);
      }
    });
    const main = m.mainPayload;
    if (
      main &&
      (neb.filename !== main.name ||
        neb.size !== String(main.size) ||
        neb.hash !== main.sha1Base64 ||
        neb.hash256 !== main.sha256)
    )
      failures.push(
        "nebraska-package.json: main package filename/size/hash/hash256 differ from manifest.json",
      );
  } catch (e) {
    failures.push(`nebraska-package.json: missing or invalid: ${(e as Error).message}`);
  }

  // SHA256SUMS: well-formed, every listed file matches, every manifest file listed.
  const sumsText = await readFile(join(dir, "SHA256SUMS"), "utf8").catch(() => undefined);
  const sums = sumsText === undefined ? undefined : parseSha256Sums(sumsText);
  if (!sums) failures.push("SHA256SUMS: missing or not in sha256sum format");
  else {
    for (const [name, sha] of sums) {
      if (name.includes("/") || name === "." || name === "..") {
        failures.push(`SHA256SUMS: ${name} is not a plain file name`);
        continue;
      }
      const d = await digestOf(name, `SHA256SUMS: lists ${name}, which is missing`);
      if (d && d.sha256 !== sha) failures.push(`SHA256SUMS: ${name} has sha256 ${d.sha256}, listed ${sha}`);
    }
    const named = m.extensions.flatMap((e) => [
      e.image.file,
      ...e.payloads.flatMap((p) => (p.kind === "crau" ? [p.file, `${p.file}.sha256`] : [p.file])),
      e.sysupdate.osImage,
      ...e.sysupdate.files,
    ]);
    for (const n of [...named, "manifest.json", omahaName, "nebraska-package.json"])
      if (!sums.has(n)) failures.push(`SHA256SUMS: does not list ${n}`);
  }

  // SHA256SUMS.gpg: checked against the given keyrings; a signed release without them is only a warning.
  if (options.gpgPublicKeys && options.gpgPublicKeys.length > 0)
    failures.push(...(await checkSignedSums(dir, options.gpgPublicKeys)));
  else if (m.signature || (await exists(join(dir, SIGNATURE_FILE))))
    warnings.push(
      `${SIGNATURE_FILE}: not checked; pass --gpg-public KEYRING (the key ${m.signature?.fingerprint ?? "that signed it"})`,
    );
  return done(m);
}
