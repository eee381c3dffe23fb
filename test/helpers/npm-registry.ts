// Test helper: a read-only npm registry on 127.0.0.1 serving sysextkit's tarball and its runtime dependencies,
// the tarballs taken from the npm cache `npm ci` filled (by integrity) and the metadata from package-lock.json.
import { execa } from "execa";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { REPO } from "./cli.js";

interface LockEntry {
  version: string;
  integrity?: string;
  dev?: boolean;
  [k: string]: unknown;
}

const META = [
  "dependencies",
  "optionalDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
  "bin",
  "engines",
  "os",
  "cpu",
  "license",
];

export interface LocalRegistry {
  /** http://127.0.0.1:PORT/ (npm_config_registry) */
  readonly url: string;
  close(): Promise<void>;
}

/** Start the registry; `tarball` is the packed sysextkit (npm pack). */
export async function startLocalRegistry(tarball: string): Promise<LocalRegistry> {
  const cache = (await execa("npm", ["config", "get", "cache"])).stdout.trim();
  const lock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as Record<string, unknown> & {
    version: string;
  };
  const files = new Map<string, string>(); // URL path -> file on disk
  const packuments = new Map<string, { name: string; versions: Record<string, unknown> }>();
  let base = "";
  const add = (
    name: string,
    version: string,
    meta: Record<string, unknown>,
    file: string,
    integrity?: string,
  ) => {
    const key = `/-/${name.replace("/", "__")}-${version}.tgz`;
    files.set(key, file);
    const doc = packuments.get(name) ?? { name, versions: {} };
    const kept = Object.fromEntries(META.filter((k) => meta[k] !== undefined).map((k) => [k, meta[k]]));
    doc.versions[version] = {
      name,
      version,
      ...kept,
      dist: { tarball: () => `${base}${key.slice(1)}`, ...(integrity ? { integrity } : {}) },
    };
    packuments.set(name, doc);
  };
  for (const [k, v] of Object.entries(lock.packages)) {
    if (!k.startsWith("node_modules/") || v.dev || !v.integrity) continue;
    const name = k.slice(k.lastIndexOf("node_modules/") + "node_modules/".length);
    const [algo, b64] = v.integrity.split(" ")[0]!.split("-", 2) as [string, string];
    const hex = Buffer.from(b64, "base64").toString("hex");
    add(
      name,
      v.version,
      v,
      join(cache, "_cacache", "content-v2", algo, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4)),
      v.integrity,
    );
  }
  add("sysextkit", pkg.version, pkg, tarball);

  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    const file = files.get(path);
    if (file) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      createReadStream(file)
        .on("error", () => res.destroy())
        .pipe(res);
      return;
    }
    const doc = packuments.get(path.slice(1));
    if (!doc) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"not found"}');
      return;
    }
    const versions = Object.keys(doc.versions);
    const body = JSON.stringify({ ...doc, "dist-tags": { latest: versions.at(-1) } }, (k, v: unknown) =>
      k === "tarball" && typeof v === "function" ? (v as () => string)() : v,
    );
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url: base, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
