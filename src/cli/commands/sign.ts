// `sysextkit sign IMAGE`: add the root hash signature to an unsigned DDI (or write NAME.roothash.p7s for a sidecar image).
import type { Command } from "commander";
import { SysextError } from "../../errors.js";
import { printJson } from "../output.js";

interface SignFlags {
  signature?: string;
  key?: string;
  certificate?: string;
  keyPassphrase?: string;
  out?: string;
  json?: boolean;
}

export function registerSign(program: Command): void {
  program
    .command("sign")
    .description(
      "sign an image built with --sign-later: a signature made offline (--signature) or here (--key)",
    )
    .argument("<image>", "the DDI (or the .raw of an image with verity sidecar files)")
    .option("--signature <p7s>", "detached PKCS#7 signature of NAME.roothash (DER or PEM), e.g. from an HSM")
    .option("--key <pem>", "sign here with this private key: file, env:NAME or - (never printed)")
    .option("--key-passphrase <ref>", "passphrase of an encrypted --key: file, env:NAME or -")
    .option("--certificate <pem>", "the signer's X.509 certificate (required): file, env:NAME or -")
    .option("--out <file>", "write the signed DDI here instead of replacing IMAGE")
    .option("--json", "print the result as JSON")
    .action(async (image: string, flags: SignFlags) => {
      if (!flags.certificate) {
        throw new SysextError("USAGE", "--certificate is required", {
          hint: "pass the X.509 certificate of the key that made the signature",
        });
      }
      const { signImage } = await import("../../image/ddi/sign.js");
      const r = await signImage({
        image,
        certificate: flags.certificate,
        ...(flags.signature ? { signature: flags.signature } : {}),
        ...(flags.key ? { key: flags.key } : {}),
        ...(flags.keyPassphrase ? { passphrase: flags.keyPassphrase } : {}),
        ...(flags.out ? { out: flags.out } : {}),
      });
      if (flags.json) {
        printJson(r);
        return;
      }
      process.stdout.write(
        `signed ${r.image} (${r.kind === "ddi" ? "DDI" : "verity sidecars"})\n` +
          `  root hash: ${r.rootHash}\n  signer:    ${r.signer} (certificate sha256 ${r.certificateFingerprint})\n  wrote:     ${r.output}\n`,
      );
    });
}
