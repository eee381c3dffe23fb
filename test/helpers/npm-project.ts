// Test helper: an empty npm project that installs the packed sysextkit tarball offline, from the npm cache.
import { execa } from "execa";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { REPO } from "./cli.js";

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  [k: string]: unknown;
}

/**
 * Write package.json and package-lock.json into `dir` for a project depending on `tarball`, then run
 * `npm ci --offline`. The lock names the runtime dependencies exactly as this checkout's lock does, so
 * npm takes their tarballs from the cache `npm ci` filled (by integrity) and needs no registry metadata.
 */
export async function installTarballOffline(dir: string, tarball: string): Promise<void> {
  const repoLock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as {
    name: string;
    version: string;
    license: string;
    engines: Record<string, string>;
    bin: Record<string, string>;
    dependencies: Record<string, string>;
  };
  const spec = `file:${relative(dir, tarball)}`;
  const integrity = `sha512-${createHash("sha512")
    .update(await readFile(tarball))
    .digest("base64")}`;
  const packages: Record<string, LockEntry> = {
    "": { name: "proj", dependencies: { sysextkit: spec } },
    "node_modules/sysextkit": {
      version: pkg.version,
      resolved: spec,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [k, v] of Object.entries(repoLock.packages)) {
    if (k.startsWith("node_modules/") && !v.dev) packages[k] = v;
  }
  await writeFile(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "proj", private: true, type: "module", dependencies: { sysextkit: spec } }, null, 2)}\n`,
  );
  await writeFile(
    join(dir, "package-lock.json"),
    `${JSON.stringify({ name: "proj", lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
  await execa("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir });
}
