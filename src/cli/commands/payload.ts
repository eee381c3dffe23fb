// `sysextkit payload IMAGE --key K`: write the signed CrAU payload <NAME>.gz and its .sha256 (and plain compressed ones).
import type { Command } from "commander";
import type { CompressionKind } from "../../payload/compressed.js";
import { SysextError } from "../../errors.js";
import { humanSize, printJson, progressPrinter } from "../output.js";
import { collect, parseCompressedKinds } from "./shared.js";

export function registerPayload(program: Command): void {
  program
    .command("payload")
    .description("write the signed CrAU update payload <NAME>.gz of an image, with <NAME>.gz.sha256")
    .argument("<image>", "the raw extension image")
    .option(
      "--key <pem>",
      "RSA private key: a PEM file, env:NAME or - for stdin (repeatable: throwaway key first, real key last)",
      collect,
      [],
    )
    .option("--out <dir>", "output directory", ".")
    .option("--name <name>", "payload base name (default: image file name minus .raw)")
    .option("--compressed <kinds>", "also write plain compressed payloads: zst,xz,gz")
    .option("--json", "print the result as JSON")
    .action(
      async (
        image: string,
        flags: { key: string[]; out: string; name?: string; compressed?: string; json?: boolean },
      ) => {
        if (flags.key.length === 0) {
          throw new SysextError("USAGE", "at least one --key is required to sign the payload", {
            hint: "create one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem",
          });
        }
        const kinds: CompressionKind[] = parseCompressedKinds(flags.compressed);
        const { createCompressedPayload } = await import("../../payload/compressed.js");
        const { createPayload } = await import("../../payload/crau.js");
        const bar = progressPrinter(true);
        try {
          const result = await createPayload({
            image,
            keys: flags.key,
            outDir: flags.out,
            ...(flags.name ? { name: flags.name } : {}),
            onProgress: (p) =>
              bar.update(
                `payload ${Math.floor((p.bytesDone * 100) / p.bytesTotal)}% of ${humanSize(p.bytesTotal)}`,
              ),
          });
          const compressed = [];
          for (const k of kinds) compressed.push(await createCompressedPayload(image, flags.out, k));
          bar.done();
          if (flags.json) printJson({ ...result, compressed });
          else {
            process.stdout.write(
              `payload ${result.file}\n  size:   ${humanSize(result.size)} (${result.size} bytes)\n  sha256: ${result.sha256}\n` +
                `  image:  ${result.partition.size} bytes, sha256 ${result.partition.sha256}\n` +
                `  ops:    ${result.operations.replaceBz} REPLACE_BZ, ${result.operations.replace} REPLACE\n` +
                `  keys:   ${result.keyFingerprints.join(", ")}\n` +
                compressed.map((c) => `  also:   ${c.file}\n`).join(""),
            );
          }
        } finally {
          bar.done();
        }
      },
    );
}
