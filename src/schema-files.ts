// The JSON Schema files shipped in schema/ (written by `npm run schema`, checked by test/project/schemas.test.ts).
import { bootReportJsonSchema } from "./boot/report-schema.js";
import { releaseJsonSchema } from "./manifest/release-spec.js";
import { extensionJsonSchema } from "./spec/schema.js";

export const SCHEMA_FILES: Readonly<Record<string, () => Record<string, unknown>>> = {
  "extension.schema.json": extensionJsonSchema,
  "release.schema.json": releaseJsonSchema,
  "boot-report.schema.json": bootReportJsonSchema,
};
