// Every file of a release directory as manifest.json implies it: described binaries and generated texts, one rendering for write and verify.
import { createHash } from "node:crypto";
import { omahaFileName, renderNebraska, renderOmaha, renderSha256Sums } from "./formats.js";
import { SIGNATURE_FILE } from "./gpg.js";
import type { ReleaseManifest } from "./schema.js";
import { sysupdateFiles } from "./sysupdate.js";

/** A published binary file as manifest.json describes it. */
export interface DescribedFile {
  readonly size: number;
  readonly sha256: string;
  readonly sha1Base64: string;
}

export interface ReleaseFiles {
  /** Images (under both names) and payloads, by file name, with the size and hashes manifest.json gives them. */
  readonly binaries: ReadonlyMap<string, DescribedFile>;
  /**
   * Text files generated from manifest.json, by file name, with their exact content, in publishing order:
   * payload checksums, Omaha, Nebraska, sysupdate files, then SHA256SUMS, then manifest.json (last, so that
   * its presence marks a complete release).
   */
  readonly texts: ReadonlyMap<string, string>;
  /** SHA256SUMS.gpg when the release is signed (written after SHA256SUMS; checked with the OpenPGP keyring). */
  readonly signature: string | undefined;
}

/** The canonical text of manifest.json. */
export function renderManifest(m: ReleaseManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** Every file a release directory holds according to `m` (nothing else belongs there). */
export function releaseFiles(m: ReleaseManifest): ReleaseFiles {
  const binaries = new Map<string, DescribedFile>();
  const texts = new Map<string, string>();
  for (const e of m.extensions) {
    binaries.set(e.image.file, e.image);
    binaries.set(e.sysupdate.osImage, e.image);
    for (const p of e.payloads) {
      binaries.set(p.file, p);
      if (p.kind === "crau") texts.set(`${p.file}.sha256`, `${p.sha256}  ${p.file}\n`);
    }
  }
  texts.set(omahaFileName(m), renderOmaha(m));
  texts.set("nebraska-package.json", renderNebraska(m));
  const url = m.sysupdateUrl;
  for (const e of m.extensions) {
    for (const f of sysupdateFiles(e.name, { verify: m.signature !== undefined, ...(url ? { url } : {}) }))
      texts.set(f.file, f.text);
  }
  const manifestText = renderManifest(m);
  const sums = [
    ...[...binaries].map(([name, d]) => ({ name, sha256: d.sha256 })),
    ...[...texts].map(([name, text]) => ({ name, sha256: sha256Hex(text) })),
    { name: "manifest.json", sha256: sha256Hex(manifestText) },
  ];
  texts.set("SHA256SUMS", renderSha256Sums(sums));
  texts.set("manifest.json", manifestText);
  return { binaries, texts, signature: m.signature ? SIGNATURE_FILE : undefined };
}
