// `sysextkit verify PATH`: verify a CrAU payload, or a whole release directory and every manifest in it.
import type { Command } from "commander";
import { stat } from "node:fs/promises";
import { SysextError } from "../../errors.js";
import { verifyRelease } from "../../manifest/verify.js";
import { verifyPayload } from "../../payload/verify.js";
import { printJson } from "../output.js";
import { collect } from "./shared.js";

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("verify a payload (.gz) or a release directory; exit 0 only when everything holds")
    .argument("<path>", "a CrAU payload file or a release directory")
    .option("--key <pem>", "PEM public (or private) key to check signatures with (repeatable)", collect, [])
    .option("--image <raw>", "for a payload: the image it must reassemble to")
    .option("--json", "print the report as JSON")
    .action(async (path: string, flags: { key: string[]; image?: string; json?: boolean }) => {
      const st = await stat(path).catch((e: unknown) => {
        throw new SysextError("VERIFY_FAILED", `cannot verify ${path}: ${(e as Error).message}`, {
          cause: e,
          location: { file: path },
          hint: "pass a CrAU payload file (<name>.gz) or a release directory",
        });
      });
      const opts = flags.key.length ? { publicKeys: flags.key } : {};
      const report = st.isDirectory()
        ? await verifyRelease(path, opts)
        : await verifyPayload(path, { ...opts, ...(flags.image ? { expectedImage: flags.image } : {}) });
      if (flags.json) printJson(report);
      else {
        const lines = [`${report.ok ? "OK" : "FAILED"}: ${path}`];
        for (const f of report.failures) lines.push(`  FAIL ${f}`);
        for (const w of report.warnings) lines.push(`  warn ${w}`);
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      process.exitCode = report.ok ? 0 : 1;
    });
}
