// Start-up stays fast because `sysextkit --version/--help` load no library code and no command module: this walks
// the static imports from the CLI's entry and asserts no third-party module other than commander is reached and no
// command file (main.ts loads only the invoked one, through the table in commands/index.ts; the commands import the
// library lazily in their actions). Times are measured by `npm run bench` (bench/startup.ts), not here.
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/cli.js";

/** Module specifiers a TypeScript file loads when it is evaluated (type-only imports are erased). */
function staticImports(source: string): string[] {
  const specs: string[] = [];
  const re = /^(?:import|export)\s+(?!type\b)(?:[^;"']*?\sfrom\s+)?["']([^"']+)["']/gm;
  for (const m of source.matchAll(re)) specs.push(m[1]!);
  return specs;
}

async function walk(entry: string) {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(await readFile(file, "utf8"))) {
      if (spec.startsWith("node:")) continue;
      if (spec.startsWith(".")) todo.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  }
  return { files: [...files].map((f) => relative(REPO, f)).sort(), packages: [...packages].sort() };
}

describe("CLI start-up imports", () => {
  it("the static import graph of src/cli/main.ts reaches no package but commander, and no command module", async () => {
    const { files, packages } = await walk(join(REPO, "src/cli/main.ts"));
    expect(packages).toEqual(["commander"]);
    expect(files.filter((f) => f.startsWith("src/cli/commands/"))).toEqual(["src/cli/commands/index.ts"]);
    // The walk itself works: it follows relative imports through the files main.ts uses.
    expect(files).toContain("src/errors.ts");
  });

  it("every command module is in the lazy table, and each one's static imports reach no package but commander", async () => {
    const dir = join(REPO, "src/cli/commands");
    const modules = (await readdir(dir)).filter(
      (f) => f.endsWith(".ts") && f !== "index.ts" && f !== "shared.ts",
    );
    const table = await readFile(join(dir, "index.ts"), "utf8");
    const loaded = [...table.matchAll(/await import\("\.\/([\w-]+)\.js"\)/g)].map((m) => `${m[1]}.ts`);
    expect(loaded.sort()).toEqual(modules.sort());
    for (const m of modules) {
      const { files, packages } = await walk(join(dir, m));
      expect(
        packages.filter((p) => p !== "commander"),
        m,
      ).toEqual([]);
      // The walk follows into the command file's own relative imports.
      expect(files, m).toContain(`src/cli/commands/${m}`);
    }
  });

  it("the walk sees a static library import (the check is not vacuous)", async () => {
    const { packages } = await walk(join(REPO, "src/index.ts"));
    expect(packages).toEqual(expect.arrayContaining(["zod", "yaml"]));
  });
});
