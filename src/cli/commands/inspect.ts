// `sysextkit inspect IMAGE`: format, extension-release contents and the file list of an image.
import type { Command } from "commander";
import type { VeritySummary } from "../../image/ddi/describe.js";
import { humanSize, printJson } from "../output.js";

/** A DDI's partitions, root hash and signer (or a plain image's verity sidecars) for humans. */
export function verityLines(v: VeritySummary | undefined): string[] {
  if (!v) return [];
  const lines = [
    `root hash: ${v.rootHash ?? "(unknown)"}`,
    v.signed
      ? `signed:  yes, by ${v.signer ?? "(no certificate in the signature)"}${v.certificateFingerprint ? ` (certificate sha256 ${v.certificateFingerprint})` : ""}`
      : "signed:  NO (dm-verity only)",
  ];
  if (v.kind === "ddi") {
    lines.push(`disk GUID: ${v.diskUuid}`, "partitions:");
    for (const p of v.partitions ?? []) {
      lines.push(
        `  ${p.role.padEnd(16)} ${p.label.padEnd(24)} ${p.uuid}  offset ${p.offset}  size ${p.size}`,
      );
    }
    if (v.verity)
      lines.push(`verity:  sha256, 4096/4096, ${v.verity.dataBlocks} data blocks, salt ${v.verity.salt}`);
  } else {
    lines.push(`sidecars: ${Object.values(v.files ?? {}).join(", ")}`);
  }
  for (const p of v.problems) lines.push(`PROBLEM: ${p}`);
  return lines;
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("show an image's format, extension-release and files")
    .argument("<image>", "a .raw image (squashfs, erofs or DDI) or an extension directory")
    .option("--json", "print as JSON")
    .action(async (image: string, flags: { json?: boolean }) => {
      const { inspectImage } = await import("../../image/inspect.js");
      const info = await inspectImage(image);
      if (flags.json) {
        printJson(info);
        return;
      }
      const out = [
        `image:   ${info.path}`,
        `format:  ${info.format}${info.filesystem ? ` (${info.filesystem} in root-${info.verity?.arch ?? "?"})` : ""}`,
        `size:    ${humanSize(info.size)} (${info.size} bytes)`,
        ...(info.sha256 ? [`sha256:  ${info.sha256}`] : []),
        ...verityLines(info.verity),
        `release files: ${info.releaseFiles.length ? info.releaseFiles.join(", ") : "(none)"}`,
        ...(info.strictXattr !== undefined ? [`user.extension-release.strict=${info.strictXattr}`] : []),
        ...Object.entries(info.release ?? {}).map(([k, v]) => `  ${k}=${v}`),
        `files (${info.files.length}):`,
        ...info.files.map(
          (f) =>
            `  ${f.type.padEnd(7)} ${(f.mode & 0o7777).toString(8).padStart(4, "0")} ${String(f.size ?? "").padStart(10)} ${f.path}${f.target !== undefined ? ` -> ${f.target}` : ""}`,
        ),
      ];
      process.stdout.write(`${out.join("\n")}\n`);
    });
}
