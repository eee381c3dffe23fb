// Writes schema/extension.schema.json and schema/release.schema.json from the zod schemas (`npm run schema`; a test checks both are current).
import { writeFile } from "node:fs/promises";
import { runMain } from "../src/cli/run-main.js";
import { SCHEMA_FILES } from "../src/schema-files.js";

await runMain(async () => {
  for (const [name, make] of Object.entries(SCHEMA_FILES)) {
    await writeFile(new URL(`../schema/${name}`, import.meta.url), `${JSON.stringify(make(), null, 2)}\n`);
  }
});
