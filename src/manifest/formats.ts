// Manifest renderers: Omaha <manifest>/<packages> XML, Nebraska package JSON, SHA256SUMS (sysupdate files: sysupdate.ts).
import { create } from "xmlbuilder2";
import type { ReleaseManifest } from "./schema.js";

/** The CrAU payloads of a release, in extension order: the Omaha/Nebraska "extra" packages. */
export function crauPayloads(
  m: ReleaseManifest,
): Array<{ file: string; size: number; sha256: string; sha1Base64: string }> {
  return m.extensions.flatMap((e) => e.payloads.filter((p) => p.kind === "crau"));
}

const hexToBase64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

/**
 * Omaha XML. With a main OS payload: a complete `<manifest version=...>` (main package first with
 * required="true", extras after with required="false", the postinstall action with the main payload's
 * base64 SHA-256). Without: a `<packages>` element holding only the extras, to splice into a server's response.
 */
export function renderOmaha(m: ReleaseManifest): string {
  const doc = create({ version: "1.0", encoding: "UTF-8" });
  const extras = crauPayloads(m);
  const addExtras = (pkgs: ReturnType<typeof doc.ele>) => {
    for (const p of extras) {
      pkgs.ele("package", {
        name: p.file,
        hash: p.sha1Base64,
        hash_sha256: p.sha256,
        size: String(p.size),
        required: "false",
      });
    }
  };
  if (m.mainPayload) {
    const man = doc.ele("manifest", { version: m.version });
    const pkgs = man.ele("packages");
    pkgs.ele("package", {
      name: m.mainPayload.name,
      hash: m.mainPayload.sha1Base64,
      size: String(m.mainPayload.size),
      required: "true",
    });
    addExtras(pkgs);
    man.ele("actions").ele("action", {
      event: "postinstall",
      sha256: hexToBase64(m.mainPayload.sha256),
      DisablePayloadBackoff: "true",
    });
  } else {
    addExtras(doc.ele("packages"));
  }
  return doc.end({ prettyPrint: true }) + "\n";
}

/** File name of the Omaha output: `omaha.xml` with a main payload, else `omaha-packages.xml`. */
export function omahaFileName(m: ReleaseManifest): string {
  return m.mainPayload ? "omaha.xml" : "omaha-packages.xml";
}

/** Body for Nebraska's `POST /api/apps/{appID}/packages`: extra_files, plus the main package when given. */
export function renderNebraska(m: ReleaseManifest): string {
  const extra_files = crauPayloads(m).map((p) => ({
    name: p.file,
    size: String(p.size),
    hash: p.sha1Base64,
    hash256: p.sha256,
  }));
  const main = m.mainPayload
    ? {
        type: 1, // Flatcar package type
        version: m.version,
        ...(m.baseUrl ? { url: m.baseUrl } : {}),
        filename: m.mainPayload.name,
        size: String(m.mainPayload.size),
        hash: m.mainPayload.sha1Base64,
        hash256: m.mainPayload.sha256,
        flatcar_action: { event: "postinstall", sha256: hexToBase64(m.mainPayload.sha256) },
      }
    : {};
  return `${JSON.stringify({ ...main, extra_files }, null, 2)}\n`;
}

/** Exactly `sha256sum` text-mode output: `<hex>  <name>\n`, sorted byte-wise by name. */
export function renderSha256Sums(entries: ReadonlyArray<{ name: string; sha256: string }>): string {
  return [...entries]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    .map((e) => `${e.sha256}  ${e.name}\n`)
    .join("");
}

/** Parse SHA256SUMS lines (`<hex> <' '|'*'><name>`); undefined for a malformed line. */
export function parseSha256Sums(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (text !== "" && !text.endsWith("\n")) return undefined;
  for (const line of text.split("\n").slice(0, -1)) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) return undefined;
    out.set(m[2]!, m[1]!);
  }
  return out;
}
