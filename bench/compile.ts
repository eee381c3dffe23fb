// Compiles src/ and the build child to JavaScript once per source change, so the bench measures what users run.
import { execa } from "execa";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? sourceFiles(join(dir, d.name)) : [join(dir, d.name)]))
    .filter((f) => f.endsWith(".ts"))
    .sort();
}

/**
 * The compiled build child (`<out>/bench/build-child.js`). The output lives below the checkout's ignored
 * .cache/ so that Node finds node_modules from it; it is rebuilt when a source file changes.
 */
export async function compiledChild(root: string): Promise<string> {
  const out = join(root, ".cache", "bench-dist");
  const inputs = [...sourceFiles(join(root, "src")), join(root, "bench", "build-child.ts")];
  const h = createHash("sha256");
  for (const f of inputs) h.update(f).update("\0").update(readFileSync(f)).update("\0");
  const hash = h.digest("hex");
  const child = join(out, "bench", "build-child.js");
  const stamp = join(out, ".source-hash");
  if (existsSync(child) && existsSync(stamp) && readFileSync(stamp, "utf8") === hash) return child;
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: { rootDir: "../..", outDir: ".", declaration: false, sourceMap: false, noEmit: false },
      include: ["../../src", "../../bench/build-child.ts"],
    }),
  );
  console.log("bench: compiling src/ to JavaScript (once per source change) ...");
  await execa(join(root, "node_modules", ".bin", "tsc"), ["-p", join(out, "tsconfig.json")], {
    cwd: root,
    stdio: "inherit",
  });
  await writeFile(stamp, hash);
  return child;
}
