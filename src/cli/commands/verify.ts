// `sysextkit verify PATH`: verify a CrAU payload, a whole release directory and every manifest in it, a sysupdate feed, or a DDI.
import type { Command } from "commander";
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { SysextError } from "../../errors.js";
import { exists } from "../../util/fs.js";
import { printJson } from "../output.js";
import { collect } from "./shared.js";

interface VerifyFlags {
  key: string[];
  trustedKey?: string;
  signatureCheck: boolean;
  gpgPublic: string[];
  certificate: string[];
  image?: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "verify a payload (.gz), a release directory, a sysupdate feed or a DDI/verity image; exit 0 only when everything holds",
    )
    .argument(
      "<path>",
      "a CrAU payload file, a release directory, a sysupdate feed, a DDI, or an image with NAME.verity sidecars",
    )
    .option(
      "--key <pem>",
      "public (or private) key: a PEM file, env:NAME, or - for stdin (repeatable; the last one is the trusted real key)",
      collect,
      [],
    )
    .option(
      "--trusted-key <pem>",
      "the real key whose version-2 signature must verify (default: the last --key)",
    )
    .option(
      "--no-signature-check",
      "verify everything but the payload signatures (the output says they were not checked)",
    )
    .option("--image <raw>", "for a payload: the image it must reassemble to")
    .option(
      "--certificate <pem>",
      "for a DDI or verity image: X.509 certificate the signature must verify with (repeatable; file, env:NAME or -)",
      collect,
      [],
    )
    .option(
      "--gpg-public <keyring>",
      "OpenPGP public key or keyring SHA256SUMS.gpg must be signed by (file, env:NAME or -; repeatable)",
      collect,
      [],
    )
    .option("--json", "print the report as JSON")
    .action(async (path: string, flags: VerifyFlags) => {
      const st = await stat(path).catch((e: unknown) => {
        throw new SysextError("VERIFY_FAILED", `cannot verify ${path}: ${(e as Error).message}`, {
          cause: e,
          location: { file: path },
          hint: "pass a CrAU payload file (<name>.gz), a release directory, a feed or a DDI",
        });
      });
      if (!st.isDirectory() && !(await isPayload(path))) {
        const { isVerityImage } = await import("../../image/ddi/verify.js");
        if (await isVerityImage(path)) return verifyVerityImage(path, flags);
      }
      const trust = {
        publicKeys: flags.key,
        ...(flags.trustedKey ? { trustedKey: flags.trustedKey } : {}),
        ...(flags.signatureCheck ? {} : { noSignatureCheck: true }),
      };
      const gpg = flags.gpgPublic.length ? { gpgPublicKeys: flags.gpgPublic } : {};
      const { FEED_INDEX } = await import("../../manifest/feed.js");
      const feed = st.isDirectory() && (await exists(join(path, FEED_INDEX)));
      const report = feed
        ? await (
            await import("../../manifest/feed-verify.js")
          ).verifyFeed(path, { ...gpg, ...(flags.signatureCheck ? {} : { noSignatureCheck: true }) })
        : st.isDirectory()
          ? await (await import("../../manifest/verify.js")).verifyRelease(path, { ...trust, ...gpg })
          : await (
              await import("../../payload/verify.js")
            ).verifyPayload(path, { ...trust, ...(flags.image ? { expectedImage: flags.image } : {}) });
      if (flags.json) printJson(report);
      else {
        const check = "signatureCheck" in report ? report.signatureCheck : undefined;
        const verdict = report.ok
          ? check && !check.checked && !("signed" in check && !check.signed)
            ? "OK (signatures NOT checked)"
            : "OK"
          : "FAILED";
        const lines = [`${verdict}: ${path}`];
        if (check && "signed" in check) {
          lines.push(
            !check.signed
              ? "  signatures: the feed is unsigned (no SHA256SUMS.gpg; hosts need Verify=false)"
              : check.checked
                ? "  signatures: SHA256SUMS.gpg was checked with the given keyring"
                : "  signatures: SHA256SUMS.gpg NOT checked (--no-signature-check); nothing shows who made this",
          );
        } else if (check) {
          lines.push(
            check.checked
              ? `  signatures: the version-2 signature was checked with the trusted key ${check.trustedKey}`
              : "  signatures: NOT checked (--no-signature-check); nothing shows who made this",
          );
        }
        for (const f of report.failures) lines.push(`  FAIL ${f}`);
        for (const w of report.warnings) lines.push(`  warn ${w}`);
        if ("newest" in report)
          for (const n of report.newest)
            lines.push(`  newest ${n.name} ${n.arch} for ${n.osId} ${n.osVersion}: ${n.version} (${n.file})`);
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      process.exitCode = report.ok ? 0 : 1;
    });
}

/** A DDI (or an image with verity sidecars): GPT, hash tree against the data, signature against --certificate. */
async function verifyVerityImage(path: string, flags: VerifyFlags): Promise<void> {
  const { verifyImage } = await import("../../image/ddi/verify.js");
  const report = await verifyImage(path, { certificates: flags.certificate });
  if (flags.json) printJson(report);
  else {
    const lines = [
      `${report.ok ? "OK" : "FAILED"}: ${path} (${report.kind === "ddi" ? "DDI" : "image with verity sidecars"})`,
    ];
    if (report.rootHash) lines.push(`  root hash: ${report.rootHash}`);
    lines.push(
      report.signer
        ? `  signed by: ${report.signer} (sha256 ${report.certificateFingerprint})`
        : `  signed: ${report.signed ? "signature not verified" : "no"}`,
    );
    for (const f of report.failures) lines.push(`  FAIL ${f}`);
    for (const w of report.warnings) lines.push(`  warn ${w}`);
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  process.exitCode = report.ok ? 0 : 1;
}

/** Whether a file starts with the CrAU payload magic. */
async function isPayload(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.toString("latin1") === "CrAU";
  } finally {
    await fh.close();
  }
}
