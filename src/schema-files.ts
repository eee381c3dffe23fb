// The JSON Schema files shipped in schema/ (written by `npm run schema`, checked by test/project/schemas.test.ts).
import { releaseJsonSchema } from "./manifest/release-spec.js";
import { extensionJsonSchema } from "./spec/schema.js";

export const SCHEMA_FILES: Readonly<Record<string, () => Record<string, unknown>>> = {
  "extension.schema.json": extensionJsonSchema,
  "release.schema.json": releaseJsonSchema,
};
