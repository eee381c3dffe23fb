// Top-level help as text; run as `node dist/cli/help-text.js FILE` by `npm run build` to write bin/'s fast-path help.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createProgram } from "./main.js";

/** Exactly what `sysextkit --help` prints on a `width`-column terminal (80 when stdout is not a terminal). */
export async function topLevelHelp(width = 80): Promise<string> {
  const program = await createProgram([]);
  program.configureHelp({ ...program.configureHelp(), helpWidth: width });
  return program.helpInformation();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error("usage: node dist/cli/help-text.js OUTPUT_FILE");
  writeFileSync(out, await topLevelHelp());
}
