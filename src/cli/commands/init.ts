// `sysextkit init NAME`: scaffold a new extension definition (spec, unit template, test build command).
import type { Command } from "commander";
import { join } from "node:path";
import { printJson } from "../output.js";

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("scaffold a new extension definition")
    .argument("<name>", "extension name, e.g. oem-example")
    .option("--dir <dir>", "parent directory", "extensions")
    .option("--json", "print the created files as JSON")
    .action(async (name: string, flags: { dir: string; json?: boolean }) => {
      const { scaffoldExtension } = await import("../../spec/scaffold.js");
      const files = await scaffoldExtension(name, flags.dir);
      if (flags.json) printJson({ name, files });
      else {
        process.stdout.write(
          `created ${files.join(", ")}\ntry it:\n  npx sysextkit build ${join(flags.dir, name, "extension.yaml")} --base /etc/os-release --out out\n`,
        );
      }
    });
}
