// `sysextkit schema`: print the JSON Schema of extension.yaml for editors.
import type { Command } from "commander";
import { extensionJsonSchema } from "../../spec/schema.js";
import { printJson } from "../output.js";

export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description("print the JSON Schema of extension.yaml (for editors)")
    .option("--json", "print as JSON (the output is always JSON)")
    .action(() => printJson(extensionJsonSchema()));
}
