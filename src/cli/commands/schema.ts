// `sysextkit schema [extension|release]`: print the JSON Schema of extension.yaml or release.yaml for editors.
import type { Command } from "commander";
import { SysextError } from "../../errors.js";
import { printJson } from "../output.js";

export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description("print the JSON Schema of extension.yaml (or of release.yaml) for editors")
    .argument("[which]", "extension (default) or release", "extension")
    .option("--json", "print as JSON (the output is always JSON)")
    .action(async (which: string) => {
      const { SCHEMA_FILES } = await import("../../schema-files.js");
      const make = SCHEMA_FILES[`${which}.schema.json`];
      if (!make) {
        throw new SysextError("USAGE", `no schema named ${which}`, {
          hint: "sysextkit schema extension > extension.schema.json, or sysextkit schema release",
        });
      }
      printJson(make(), { raw: true });
    });
}
