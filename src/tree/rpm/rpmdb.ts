// The base's rpm database: the SQLite rpmdb (usr/lib/sysimage/rpm or var/lib/rpm) read with sql.js, headers parsed here.
import { lstat, readFile, readlink, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { SysextError } from "../../errors.js";
import { parseHeaderBlob } from "./header.js";
import { packageFromHeader, type RpmPackage } from "./package.js";

/** Database directories rpm uses, newest first (Fedora 36+, openSUSE: sysimage; older: var/lib/rpm). */
export const RPMDB_DIRS = ["usr/lib/sysimage/rpm", "var/lib/rpm"] as const;

export type RpmdbResult =
  | {
      readonly kind: "sqlite";
      readonly file: string;
      readonly packages: RpmPackage[];
      readonly walPending: boolean;
    }
  | { readonly kind: "unsupported"; readonly file: string; readonly backend: "ndb" | "bdb" }
  | { readonly kind: "none" };

/** A path below `root` with symlinks resolved inside the root (an absolute link target means root + target). */
async function inRoot(root: string, rel: string): Promise<string | undefined> {
  let cur = "";
  const parts = rel.split("/");
  for (let hops = 0; parts.length > 0 && hops < 64;) {
    const part = parts.shift()!;
    const next = cur === "" ? part : `${cur}/${part}`;
    const st = await lstat(join(root, next)).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      hops++;
      const target = await readlink(join(root, next));
      const resolved = target.startsWith("/") ? target.slice(1) : posix.join(posix.dirname(next), target);
      const norm = posix.normalize(resolved);
      if (norm.startsWith("..")) return undefined;
      parts.unshift(...norm.split("/").filter((p) => p !== "" && p !== "."));
      cur = "";
      continue;
    }
    cur = next;
  }
  return join(root, cur);
}

const exists = (p: string) =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/** Find and read the rpm database of a base root. */
export async function readRpmdb(root: string): Promise<RpmdbResult> {
  for (const dir of RPMDB_DIRS) {
    const abs = await inRoot(root, dir);
    if (abs === undefined) continue;
    const sqlite = join(abs, "rpmdb.sqlite");
    if (await exists(sqlite)) {
      const wal = await stat(`${sqlite}-wal`).catch(() => undefined);
      return {
        kind: "sqlite",
        file: sqlite,
        packages: await readSqliteRpmdb(sqlite),
        walPending: (wal?.size ?? 0) > 0,
      };
    }
    if (await exists(join(abs, "Packages.db")))
      return { kind: "unsupported", file: join(abs, "Packages.db"), backend: "ndb" };
    if (await exists(join(abs, "Packages")))
      return { kind: "unsupported", file: join(abs, "Packages"), backend: "bdb" };
  }
  return { kind: "none" };
}

type SqlJs = Awaited<ReturnType<typeof import("sql.js").default>>;
let sqlJs: Promise<SqlJs> | undefined;

/** Every package header of an SQLite rpmdb (the Packages table holds the exported header blobs). */
export async function readSqliteRpmdb(file: string): Promise<RpmPackage[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new SysextError(
      "BASE_INVALID",
      `cannot read the base's rpm database ${file}: ${(e as Error).message}`,
      {
        cause: e,
        location: { file },
        hint: "make the database readable, or set skipDependencyCheck: true on the rpm source",
      },
    );
  }
  sqlJs ??= import("sql.js").then((m) => m.default());
  const SQL = await sqlJs;
  let db;
  const rows: Array<[number, Uint8Array]> = [];
  try {
    db = new SQL.Database(bytes);
    const stmt = db.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum");
    while (stmt.step()) {
      const [hnum, blob] = stmt.get() as [number, Uint8Array];
      rows.push([hnum, blob]);
    }
    stmt.free();
  } catch (e) {
    throw new SysextError("BASE_INVALID", `${file} is not a readable rpm database: ${(e as Error).message}`, {
      cause: e,
      location: { file },
      hint: "the file must be rpm's SQLite database (rpm --rebuilddb on the base repairs it)",
    });
  } finally {
    db?.close();
  }
  return rows.map(([hnum, blob]) => {
    const where = `${file} (package #${hnum})`;
    const { header } = parseHeaderBlob(
      Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength),
      where,
      file,
    );
    return packageFromHeader(header, where, file);
  });
}
