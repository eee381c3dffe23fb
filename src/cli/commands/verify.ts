// `sysextkit verify PATH`: verify a CrAU payload, a whole release directory and every manifest in it, or a sysupdate feed.
import type { Command } from "commander";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { SysextError } from "../../errors.js";
import { exists } from "../../util/fs.js";
import { printJson } from "../output.js";
import { collect } from "./shared.js";

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "verify a payload (.gz), a release directory or a sysupdate feed; exit 0 only when everything holds",
    )
    .argument("<path>", "a CrAU payload file, a release directory or a sysupdate feed")
    .option("--key <pem>", "PEM public (or private) key to check signatures with (repeatable)", collect, [])
    .option("--image <raw>", "for a payload: the image it must reassemble to")
    .option(
      "--gpg-public <keyring>",
      "OpenPGP public key or keyring SHA256SUMS.gpg must be signed by (file, env:NAME or -; repeatable)",
      collect,
      [],
    )
    .option("--json", "print the report as JSON")
    .action(
      async (path: string, flags: { key: string[]; gpgPublic: string[]; image?: string; json?: boolean }) => {
        const st = await stat(path).catch((e: unknown) => {
          throw new SysextError("VERIFY_FAILED", `cannot verify ${path}: ${(e as Error).message}`, {
            cause: e,
            location: { file: path },
            hint: "pass a CrAU payload file (<name>.gz) or a release directory",
          });
        });
        const { verifyRelease } = await import("../../manifest/verify.js");
        const { verifyPayload } = await import("../../payload/verify.js");
        const opts = flags.key.length ? { publicKeys: flags.key } : {};
        const gpg = flags.gpgPublic.length ? { gpgPublicKeys: flags.gpgPublic } : {};
        const { FEED_INDEX } = await import("../../manifest/feed.js");
        const feed = st.isDirectory() && (await exists(join(path, FEED_INDEX)));
        const report = feed
          ? await (await import("../../manifest/feed-verify.js")).verifyFeed(path, gpg)
          : st.isDirectory()
            ? await verifyRelease(path, { ...opts, ...gpg })
            : await verifyPayload(path, { ...opts, ...(flags.image ? { expectedImage: flags.image } : {}) });
        if (flags.json) printJson(report);
        else {
          const lines = [`${report.ok ? "OK" : "FAILED"}: ${path}`];
          for (const f of report.failures) lines.push(`  FAIL ${f}`);
          for (const w of report.warnings) lines.push(`  warn ${w}`);
          if ("newest" in report)
            for (const n of report.newest)
              lines.push(
                `  newest ${n.name} ${n.arch} for ${n.osId} ${n.osVersion}: ${n.version} (${n.file})`,
              );
          process.stdout.write(`${lines.join("\n")}\n`);
        }
        process.exitCode = report.ok ? 0 : 1;
      },
    );
}
