// Test helper: the packed sysextkit tarball (npm pack, which builds dist/ first), made once for all test files.
import { execa } from "execa";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { withLock } from "../../src/util/lock.js";
import { REPO } from "./cli.js";

const INPUTS = [
  "src",
  "bin",
  "schema",
  "extensions",
  "templates",
  "examples",
  "README.md",
  "LICENSE",
  "package.json",
  "tsconfig.json",
  "tsconfig.build.json",
];

async function newestMtime(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, e)));
  return newest;
}

/**
 * Path of sysextkit-<version>.tgz under .cache/pack/, packed again only when a shipped file changed since.
 * Parallel test files wait on one lock: `npm pack` rebuilds dist/, which two packs at once would break.
 */
export async function packedTarball(): Promise<string> {
  const dir = join(REPO, ".cache", "pack");
  await mkdir(dir, { recursive: true });
  return withLock(
    join(dir, "pack"),
    async () => {
      const existing = (await readdir(dir)).find((f) => /^sysextkit-.*\.tgz$/.test(f));
      if (existing) {
        const packed = (await stat(join(dir, existing))).mtimeMs;
        let newest = 0;
        for (const i of INPUTS) newest = Math.max(newest, await newestMtime(join(REPO, i)));
        if (packed > newest) return join(dir, existing);
      }
      const { stdout } = await execa("npm", ["pack", "--pack-destination", dir, "--json"], { cwd: REPO });
      return join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    },
    { waitMs: 15 * 60_000, what: "npm pack of this checkout" },
  );
}
