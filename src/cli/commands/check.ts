// `sysextkit check IMAGE --host ...`: would this host's systemd-sysext merge the image, and if not, why.
import type { Command } from "commander";
import { stat } from "node:fs/promises";
import { SysextError } from "../../errors.js";
import { formatFinding, printJson } from "../output.js";
import { collect } from "./shared.js";

interface CheckFlags {
  host?: string;
  arch?: string;
  systemd?: string;
  as?: string;
  initrd?: boolean;
  json?: boolean;
  imagePolicy?: string;
  certificate: string[];
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description(
      "decide whether a host's systemd-sysext would merge an image, judging its release file and content (exit 0 yes, 1 no)",
    )
    .argument("<image>", "the image to check")
    .option("--host <path>", "the host's os-release file or root directory")
    .option("--arch <arch>", "the host's architecture (default: this machine's)")
    .option("--systemd <version>", "the host's systemd version (default: this machine's, else 252)")
    .option("--as <filename>", "the file name it is installed under (default: the image's own name)")
    .option("--initrd", "decide as systemd-sysext does inside an initrd")
    .option(
      "--image-policy <policy>",
      "the --image-policy the host's systemd-sysext runs with (v254+), e.g. root=signed+absent:usr=signed+absent",
    )
    .option(
      "--certificate <pem>",
      "a certificate the host trusts for verity signatures, besides the host root's verity.d (repeatable)",
      collect,
      [],
    )
    .option("--json", "print the verdict as JSON")
    .action(async (image: string, flags: CheckFlags) => {
      if (!flags.host) {
        throw new SysextError("USAGE", "--host is required", {
          hint: "pass the host's os-release file (e.g. --host /etc/os-release) or its root directory",
        });
      }
      const { readBase } = await import("../../base/base.js");
      const { checkImage } = await import("../../release/image-check.js");
      const { localSystemdVersion } = await import("../../release/systemd-version.js");
      const systemdVersion =
        flags.systemd !== undefined ? parseSystemd(flags.systemd) : ((await localSystemdVersion()) ?? 252);
      const host = await readBase({ path: flags.host, ...(flags.arch ? { arch: flags.arch } : {}) });
      const verdict = await checkImage({
        image,
        host,
        systemdVersion,
        ...(flags.as ? { as: flags.as } : {}),
        ...(flags.initrd ? { initrd: true } : {}),
        // DDIs and verity images: signature trust (the host root's verity.d, --certificate) and image policy.
        ...((await stat(flags.host)).isDirectory() ? { hostRoot: flags.host } : {}),
        certificates: flags.certificate,
        ...(flags.imagePolicy !== undefined ? { policy: flags.imagePolicy } : {}),
      });
      if (flags.json) printJson(verdict);
      else {
        process.stdout.write(
          `${verdict.merges ? "merges" : "does not merge"}: ${verdict.reason} (systemd ${systemdVersion})\n` +
            verdict.steps.map((s) => `  ${s.ok ? "ok  " : "FAIL"} ${s.rule}: ${s.detail}\n`).join("") +
            verdict.findings.map((f) => `  ${formatFinding(f)}\n`).join(""),
        );
      }
      process.exitCode = verdict.merges ? 0 : 1;
    });
}

function parseSystemd(v: string): number {
  const n = Number(/^v?(\d+)/.exec(v)?.[1]);
  if (!Number.isInteger(n) || n < 200) {
    throw new SysextError("USAGE", `--systemd ${JSON.stringify(v)} is not a systemd version`, {
      hint: "give the major version, e.g. --systemd 252",
    });
  }
  return n;
}
