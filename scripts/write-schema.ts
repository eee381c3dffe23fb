// Writes schema/extension.schema.json from the zod schema (run by `npm run schema`; a test checks it is current).
import { writeFile } from "node:fs/promises";
import { extensionJsonSchema } from "../src/spec/schema.js";

const schema = extensionJsonSchema();
await writeFile(
  new URL("../schema/extension.schema.json", import.meta.url),
  `${JSON.stringify(schema, null, 2)}\n`,
);
