// `sysextkit inspect IMAGE`: format, extension-release contents and the file list of an image.
import type { Command } from "commander";
import { humanSize, printJson } from "../output.js";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("show an image's format, extension-release and files")
    .argument("<image>", "a .raw image (squashfs or erofs) or an extension directory")
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
        `format:  ${info.format}`,
        `size:    ${humanSize(info.size)} (${info.size} bytes)`,
        ...(info.sha256 ? [`sha256:  ${info.sha256}`] : []),
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
