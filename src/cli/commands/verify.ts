// `sysextkit verify PATH`: verify a CrAU payload, a whole release directory and every manifest in it, or a sysupdate feed.
import type { Command } from "commander";
import { stat } from "node:fs/promises";
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
  image?: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "verify a payload (.gz), a release directory or a sysupdate feed; exit 0 only when everything holds",
    )
    .argument("<path>", "a CrAU payload file, a release directory or a sysupdate feed")
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
          hint: "pass a CrAU payload file (<name>.gz), a release directory or a feed",
        });
      });
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
