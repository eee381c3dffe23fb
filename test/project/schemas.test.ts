// The JSON Schemas in schema/ are generated from the zod schemas (npm run schema) and exported by package.json.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SCHEMA_FILES } from "../../src/schema-files.js";
import { REPO } from "../helpers/cli.js";

describe("shipped JSON Schemas", () => {
  it.each(Object.keys(SCHEMA_FILES))("schema/%s is current (run npm run schema)", async (name) => {
    const committed = JSON.parse(await readFile(join(REPO, "schema", name), "utf8")) as unknown;
    expect(committed).toEqual(SCHEMA_FILES[name]!());
  });

  it("package.json exports every schema file", async () => {
    const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
      exports: Record<string, string>;
      files: string[];
    };
    for (const name of Object.keys(SCHEMA_FILES)) expect(pkg.exports[`./${name}`]).toBe(`./schema/${name}`);
    expect(pkg.files).toContain("schema");
  });

  it("release.schema.json accepts the architecture aliases --arch takes", async () => {
    const schema = JSON.parse(await readFile(join(REPO, "schema/release.schema.json"), "utf8")) as {
      properties: { architectures: { items: { enum: string[] } } };
    };
    expect(schema.properties.architectures.items.enum).toEqual(
      expect.arrayContaining(["x86-64", "arm64", "amd64", "aarch64", "x86_64"]),
    );
  });
});
