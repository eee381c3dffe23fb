// `sysextkit trust --certificate CERT --out DIR`: what a base image needs to require signed extensions.
import type { Command } from "commander";
import { Option } from "commander";
import { SysextError } from "../../errors.js";
import { printJson } from "../output.js";

interface TrustFlags {
  certificate?: string;
  out?: string;
  name?: string;
  location?: "usr" | "etc";
  json?: boolean;
}

export function registerTrust(program: Command): void {
  program
    .command("trust")
    .description(
      "write a verity.d certificate and a systemd-sysext drop-in that merges only signed extensions",
    )
    .option("--certificate <pem>", "the X.509 certificate extensions are signed with: file, env:NAME or -")
    .option("--out <dir>", "root of the base image tree to write into (usr/lib/... or etc/...)")
    .option("--name <stem>", "file name of the certificate in verity.d (default: from its CN)")
    .addOption(
      new Option("--location <where>", "usr (part of the OS image, default) or etc").choices(["usr", "etc"]),
    )
    .option("--json", "print the result as JSON")
    .action(async (flags: TrustFlags) => {
      if (!flags.certificate || !flags.out) {
        throw new SysextError("USAGE", `--${flags.certificate ? "out" : "certificate"} is required`, {
          hint: "sysextkit trust --certificate cert.pem --out base-root/",
        });
      }
      const { writeTrust } = await import("../../release/trust.js");
      const r = await writeTrust({
        certificate: flags.certificate,
        outDir: flags.out,
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.location ? { location: flags.location } : {}),
      });
      if (flags.json) {
        printJson(r);
        return;
      }
      process.stdout.write(
        `trust material for ${r.subject} (sha256 ${r.fingerprint}):\n` +
          `  ${r.certificate}\n  ${r.dropIn}  (--image-policy=${r.policy}; systemd >= 254)\n`,
      );
    });
}
