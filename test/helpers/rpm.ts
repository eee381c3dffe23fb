// Test helper: real RPM packages built with rpmbuild, and base roots with a real rpm database (rpm --initdb, -i --justdb).
import { execa } from "execa";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RpmDef {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  /** x86_64 (default) or noarch. */
  arch?: string;
  requires?: string[];
  provides?: string[];
  /** Regular files: path -> content (mode 0644) or { content, mode }. */
  files?: Record<string, string | { content: string; mode: number }>;
  symlinks?: Record<string, string>;
  /** Hard links: path -> an earlier regular file of `files`. */
  hardlinks?: Record<string, string>;
  /** Owned directories (%dir). */
  dirs?: string[];
  /** Paths of `files` marked %config(noreplace). */
  config?: string[];
  /** %ghost paths (not in the payload). */
  ghost?: string[];
  /** Capabilities per path of `files` (%caps). */
  caps?: Record<string, string>;
  /** Scriptlets: "post", "pre", "postun", ... -> shell body. */
  scripts?: Record<string, string>;
  /** _binary_payload, e.g. "w9.gzdio", "w6.xzdio", "w19.zstdio", "w9.bzdio", "w6.lzdio". */
  payload?: string;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

function specText(d: RpmDef): string {
  const lines = [
    `Name: ${d.name}`,
    `Version: ${d.version}`,
    `Release: ${d.release ?? "1"}`,
    ...(d.epoch !== undefined ? [`Epoch: ${d.epoch}`] : []),
    "Summary: sysextkit test package",
    "License: MIT",
    `BuildArch: ${d.arch ?? "x86_64"}`,
    "AutoReqProv: no",
    ...(d.requires ?? []).map((r) => `Requires: ${r}`),
    ...(d.provides ?? []).map((p) => `Provides: ${p}`),
    "%description",
    "A package built by the sysextkit tests.",
    "%install",
  ];
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/"));
  for (const [path, f] of Object.entries(d.files ?? {})) {
    const { content, mode } = typeof f === "string" ? { content: f, mode: 0o644 } : f;
    lines.push(
      `mkdir -p %{buildroot}${dirOf(path)}`,
      `echo ${b64(content)} | base64 -d > %{buildroot}${path}`,
      `chmod ${mode.toString(8)} %{buildroot}${path}`,
    );
  }
  for (const [path, target] of Object.entries(d.hardlinks ?? {}))
    lines.push(`mkdir -p %{buildroot}${dirOf(path)}`, `ln %{buildroot}${target} %{buildroot}${path}`);
  for (const [path, target] of Object.entries(d.symlinks ?? {}))
    lines.push(`mkdir -p %{buildroot}${dirOf(path)}`, `ln -s ${target} %{buildroot}${path}`);
  for (const dir of d.dirs ?? []) lines.push(`mkdir -p %{buildroot}${dir}`);
  for (const [name, body] of Object.entries(d.scripts ?? {})) lines.push(`%${name}`, body);
  lines.push("%files");
  for (const path of Object.keys(d.files ?? {})) {
    const caps = d.caps?.[path];
    const cfg = d.config?.includes(path) ? "%config(noreplace) " : "";
    lines.push(`${caps ? `%caps(${caps}) ` : ""}${cfg}${path}`);
  }
  lines.push(...Object.keys(d.hardlinks ?? {}), ...Object.keys(d.symlinks ?? {}));
  lines.push(...(d.dirs ?? []).map((p) => `%dir ${p}`), ...(d.ghost ?? []).map((p) => `%ghost ${p}`));
  return `${lines.join("\n")}\n`;
}

/** Build `def` with rpmbuild into `outDir`; returns the .rpm path. */
export async function buildRpm(def: RpmDef, outDir: string): Promise<string> {
  const top = await mkdtemp(join(tmpdir(), "sysextkit-rpmbuild-"));
  try {
    const spec = join(top, `${def.name}.spec`);
    await writeFile(spec, specText(def));
    const defines = {
      _topdir: top,
      debug_package: "%{nil}",
      __os_install_post: "%{nil}",
      _build_id_links: "none",
      _binary_payload: def.payload ?? "w9.gzdio",
      // Fixed times, so that equal definitions give equal packages.
      source_date_epoch_from_changelog: "0",
      use_source_date_epoch_as_buildtime: "1",
      clamp_mtime_to_source_date_epoch: "1",
    };
    await execa(
      "rpmbuild",
      ["-bb", "--nodeps", ...Object.entries(defines).flatMap(([k, v]) => ["--define", `${k} ${v}`]), spec],
      {
        env: { SOURCE_DATE_EPOCH: "1700000000" },
      },
    );
    const arch = def.arch ?? "x86_64";
    const dir = join(top, "RPMS", arch);
    const [file] = await readdir(dir);
    await mkdir(outDir, { recursive: true });
    const out = join(outDir, file!);
    await execa("cp", [join(dir, file!), out]);
    return out;
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}

/** rpm options for a database in the sysimage place, in SQLite format (Debian's rpm defaults to ~/.rpmdb). */
export function rpmdbArgs(root: string, dbpath = "/usr/lib/sysimage/rpm"): string[] {
  return [`--root=${root}`, `--dbpath=${dbpath}`, "--define", "_db_backend sqlite"];
}

/** A base root with os-release and a real rpm database holding `rpms` (installed with --justdb --nodeps). */
export async function makeRpmBase(
  root: string,
  rpms: readonly string[],
  osRelease = "ID=fedora\nVERSION_ID=40\n",
  dbpath?: string,
): Promise<void> {
  await mkdir(join(root, "usr/lib"), { recursive: true });
  await writeFile(join(root, "usr/lib/os-release"), osRelease);
  await execa("rpm", [...rpmdbArgs(root, dbpath), "--initdb"]);
  if (rpms.length > 0)
    await execa("rpm", [...rpmdbArgs(root, dbpath), "-i", "--justdb", "--nodeps", "--ignorearch", ...rpms]);
}
