// verifyRelease: every file in a release directory is one manifest.json implies, byte for byte; payloads verify.
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { digestFile } from "../util/fs.js";
import { loadTrust, type TrustOptions } from "../payload/trust.js";
import { verifyPayload } from "../payload/verify.js";
import { parseSha256Sums } from "./formats.js";
import { releaseFiles, renderManifest } from "./generated.js";
import { checkSignedSums, gpgNotChecked } from "./gpg.js";
import { releaseManifestSchema, type ReleaseManifest } from "./schema.js";
import { sysupdateFailures } from "./sysupdate-check.js";

/** Which key the payloads must be signed with (TrustOptions: the last key, or trustedKey), and the OpenPGP keyring. */
export interface VerifyReleaseOptions extends TrustOptions {
  /** OpenPGP public keys or keyrings (file, env:NAME, -) SHA256SUMS.gpg must be signed by. */
  readonly gpgPublicKeys?: readonly string[];
}

export interface ReleaseVerifyReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly failures: string[];
  readonly warnings: string[];
  /** Whether payload signatures were checked, and against which trusted key (never its content). */
  readonly signatureCheck: { readonly checked: boolean; readonly trustedKey?: string };
  readonly manifest?: ReleaseManifest;
}

/**
 * Check a release directory written by writeRelease; never throws for a bad release. Every entry of the
 * directory must be a regular file that manifest.json accounts for (no extra, hidden or payload-like
 * files, no sub-directories or links); images and payloads must have the described size and hashes;
 * every generated file (checksums, Omaha, Nebraska, transfers, SHA256SUMS) must equal what manifest.json implies.
 */
export async function verifyRelease(
  dir: string,
  options: VerifyReleaseOptions = {},
): Promise<ReleaseVerifyReport> {
  const trust = await loadTrust(options);
  const failures: string[] = [];
  const warnings: string[] = [];
  const done = (manifest?: ReleaseManifest): ReleaseVerifyReport => ({
    ok: failures.length === 0,
    dir,
    failures,
    warnings,
    signatureCheck: trust.trusted ? { checked: true, trustedKey: trust.trusted.name } : { checked: false },
    ...(manifest ? { manifest } : {}),
  });
  const listing = await readdir(dir).catch(() => [] as string[]);
  let m: ReleaseManifest;
  let manifestText: string;
  try {
    manifestText = await readFile(join(dir, "manifest.json"), "utf8");
    m = releaseManifestSchema.parse(JSON.parse(manifestText));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    failures.push(
      missing
        ? `incomplete: no manifest.json (it is written last; ${listing.length} other file(s) present)`
        : `manifest.json invalid: ${(e as Error).message.split("\n")[0]}`,
    );
    return done();
  }
  let files: ReturnType<typeof releaseFiles>;
  try {
    files = releaseFiles(m);
  } catch (e) {
    failures.push(`manifest.json cannot be rendered: ${(e as Error).message}`);
    return done(m);
  }
  const { binaries, texts, signature } = files;

  // Nothing in the directory that the manifest does not account for.
  for (const name of [...listing].sort()) {
    if (binaries.has(name) || texts.has(name) || name === signature) continue;
    failures.push(`${name}: ${await describeExtra(dir, name, m)}`);
  }
  for (const name of [...binaries.keys(), ...texts.keys()]) {
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (!st) failures.push(`${name}: named by manifest.json but missing`);
    else if (!st.isFile()) failures.push(`${name}: is a ${kindOf(st)}, not a regular file`);
  }

  // Images and payloads: size and hashes as described.
  const present = new Set(listing);
  for (const [name, want] of binaries) {
    if (!present.has(name)) continue;
    const d = await digestFile(join(dir, name)).catch(() => undefined);
    if (!d) continue;
    if (d.size !== want.size) failures.push(`${name}: size ${d.size}, manifest.json says ${want.size}`);
    if (d.sha256 !== want.sha256)
      failures.push(`${name}: sha256 ${d.sha256}, manifest.json says ${want.sha256}`);
    else if (d.sha1Base64 !== want.sha1Base64) failures.push(`${name}: sha1 differs from manifest.json`);
  }

  // Generated files: byte for byte what the manifest implies.
  if (manifestText !== renderManifest(m))
    failures.push("manifest.json: not as sysextkit writes it (edited?)");
  for (const [name, want] of texts) {
    if (name === "manifest.json" || !present.has(name)) continue;
    const got = await readFile(join(dir, name), "utf8").catch(() => undefined);
    if (got === undefined || got === want) continue;
    failures.push(`${name}: differs from what manifest.json implies (${firstDifference(got, want)})`);
    if (name === "SHA256SUMS") sha256SumsDetails(got, binaries, texts, failures);
  }

  for (const e of m.extensions) {
    const image = join(dir, e.image.file);
    for (const p of e.payloads) {
      if (p.kind !== "crau" || !present.has(p.file)) continue;
      const r = await verifyPayload(join(dir, p.file), { ...trustOf(trust), expectedImage: image });
      for (const f of r.failures) if (!f.startsWith("incomplete:")) failures.push(`${p.file}: ${f}`);
      for (const w of r.warnings) warnings.push(`${p.file}: ${w}`);
    }
    // Names and patterns of the sysupdate entry (the files themselves were compared above).
    for (const f of await sysupdateFailures(dir, m, e)) if (!texts.has(f.split(":")[0]!)) failures.push(f);
  }

  // SHA256SUMS.gpg: checked against the given keyrings; a signed release without them fails like a payload
  // without a trusted key, unless signature checks are skipped explicitly.
  if (options.gpgPublicKeys && options.gpgPublicKeys.length > 0)
    failures.push(...(await checkSignedSums(dir, options.gpgPublicKeys)));
  else if (signature && !listing.includes(signature))
    failures.push(`${signature}: named by manifest.json but missing`);
  else if (signature) {
    const why = gpgNotChecked(m.signature?.fingerprint);
    if (trust.skip) warnings.push(why);
    else failures.push(why);
  }
  return done(m);
}

const trustOf = (t: Awaited<ReturnType<typeof loadTrust>>) =>
  t.skip ? { noSignatureCheck: true, publicKeys: t.all } : { trustedKey: t.trusted!, publicKeys: t.all };

function kindOf(st: { isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean }): string {
  return st.isDirectory()
    ? "directory"
    : st.isSymbolicLink()
      ? "symbolic link"
      : st.isFIFO()
        ? "FIFO"
        : "special file";
}

/** Why an entry the manifest does not list is a problem (clients glob payloads by `*<name>.gz`). */
async function describeExtra(dir: string, name: string, m: ReleaseManifest): Promise<string> {
  const st = await lstat(join(dir, name)).catch(() => undefined);
  const what = st && !st.isFile() ? `a ${kindOf(st)}` : name.startsWith(".") ? "a hidden file" : "a file";
  const glob = m.extensions.find((e) => name.endsWith(`${e.name}.gz`));
  return glob
    ? `${what} not listed in manifest.json whose name matches clients' payload glob *${glob.name}.gz`
    : `${what} not listed in manifest.json (not part of this release)`;
}

/** Line number and both versions of the first differing line, shortened. */
function firstDifference(got: string, want: string): string {
  const lines = (t: string) => (t.endsWith("\n") ? t.slice(0, -1) : t).split("\n");
  const a = lines(got);
  const b = lines(want);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const cut = (s: string | undefined) => JSON.stringify((s ?? "(end of file)").slice(0, 120));
  return `line ${i + 1}: ${cut(a[i])}, expected ${cut(b[i])}`;
}

/** Name the SHA256SUMS lines that are wrong, missing or extra. */
function sha256SumsDetails(
  text: string,
  binaries: ReadonlyMap<string, { sha256: string }>,
  texts: ReadonlyMap<string, string>,
  failures: string[],
): void {
  const sums = parseSha256Sums(text);
  if (!sums) return void failures.push("SHA256SUMS: not in sha256sum format");
  const want = new Map(parseSha256Sums(texts.get("SHA256SUMS")!));
  for (const [name, sha] of sums) {
    const exp = want.get(name) ?? binaries.get(name)?.sha256;
    if (exp === undefined) failures.push(`SHA256SUMS: lists ${name}, which is not part of the release`);
    else if (exp !== sha) failures.push(`SHA256SUMS: ${name} listed with sha256 ${sha}, expected ${exp}`);
  }
  for (const name of want.keys()) if (!sums.has(name)) failures.push(`SHA256SUMS: does not list ${name}`);
}
