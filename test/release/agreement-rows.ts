// The merge agreement matrix: release files, names, xattrs and hosts, built as images with mksquashfs (independent of sysextkit).
import { execa } from "execa";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hostArch } from "../../src/base/arch.js";
import type { HostIdentity } from "../../src/release/host-check.js";
import { releaseFields } from "../../src/release/release-file.js";
import { renderEnvFile } from "../../src/util/kv-writer.js";
import { makeBase, makeSpec } from "./fixtures.js";

export const ARCH = hostArch();
const OTHER_ARCH = ARCH === "arm64" ? "x86-64" : "arm64";
export const FLATCAR = { ID: "flatcar", VERSION_ID: "3815.2.0" };

export interface Row {
  title: string;
  /** Installed file name under var/lib/extensions. */
  as?: string;
  /** Release file name (default extension-release.<image name>). */
  file?: string;
  /** Release file content. */
  text: string;
  xattr?: string;
  osRelease?: boolean;
  host?: Record<string, string>;
}

const generated = renderEnvFile(
  "test",
  releaseFields({
    name: "t",
    spec: makeSpec({
      name: "t",
      metadata: { displayName: 'Test "quoted" $name', homeUrl: "https://example.org/" },
    }),
    base: makeBase({ arch: ARCH }),
    version: "1.0-r1",
  }),
);

export const rows: Row[] = [
  { title: "generated release file, same ID and VERSION_ID", text: generated },
  { title: "other VERSION_ID", text: `ID=flatcar\nVERSION_ID=3815.2.1\nARCHITECTURE=${ARCH}\n` },
  { title: "other ID", text: `ID=debian\nVERSION_ID=3815.2.0\n` },
  { title: "ID=_any", text: "ID=_any\n" },
  {
    title: "ARCHITECTURE of another machine",
    text: `ID=flatcar\nVERSION_ID=3815.2.0\nARCHITECTURE=${OTHER_ARCH}\n`,
  },
  {
    title: "ARCHITECTURE misspelled x86_64/aarch64",
    text: `ID=flatcar\nVERSION_ID=3815.2.0\nARCHITECTURE=${ARCH === "arm64" ? "aarch64" : "x86_64"}\n`,
  },
  { title: "ARCHITECTURE absent", text: "ID=flatcar\nVERSION_ID=3815.2.0\n" },
  { title: "ARCHITECTURE=_any", text: "ID=flatcar\nVERSION_ID=3815.2.0\nARCHITECTURE=_any\n" },
  {
    title: "SYSEXT_LEVEL equal (VERSION_ID differs)",
    text: "ID=flatcar\nVERSION_ID=1\nSYSEXT_LEVEL=1.0\n",
    host: { ...FLATCAR, SYSEXT_LEVEL: "1.0" },
  },
  {
    title: "SYSEXT_LEVEL different",
    text: "ID=flatcar\nVERSION_ID=3815.2.0\nSYSEXT_LEVEL=2\n",
    host: { ...FLATCAR, SYSEXT_LEVEL: "1.0" },
  },
  {
    title: "host SYSEXT_LEVEL only, extension none",
    text: "ID=flatcar\n",
    host: { ID: "flatcar", SYSEXT_LEVEL: "1.0" },
  },
  { title: "host without VERSION_ID", text: "ID=flatcar\nVERSION_ID=9\n", host: { ID: "flatcar" } },
  { title: "extension without VERSION_ID", text: "ID=flatcar\n" },
  { title: "SYSEXT_SCOPE=portable only", text: "ID=flatcar\nVERSION_ID=3815.2.0\nSYSEXT_SCOPE=portable\n" },
  {
    title: "SYSEXT_SCOPE=system initrd",
    text: 'ID=flatcar\nVERSION_ID=3815.2.0\nSYSEXT_SCOPE="system initrd"\n',
  },
  { title: "release file misnamed", file: "extension-release.other", text: "ID=_any\n" },
  { title: "misnamed + strict xattr 0", file: "extension-release.other", text: "ID=_any\n", xattr: "0" },
  { title: "misnamed + strict xattr 1", file: "extension-release.other", text: "ID=_any\n", xattr: "1" },
  {
    title: "ID_LIKE host",
    text: "ID=debian\nVERSION_ID=12\n",
    host: { ID: "ubuntu", ID_LIKE: "debian", VERSION_ID: "12" },
  },
  { title: "NAME.sysext.raw", as: "t.sysext.raw", text: "ID=_any\n" },
  { title: "versioned NAME_1.2.raw", as: "t_1.2.raw", text: "ID=_any\n" },
  { title: "usr/lib/os-release inside", text: "ID=_any\n", osRelease: true },
  { title: "empty release file", text: "" },
];

export function hostIdentity(os: Record<string, string>): HostIdentity {
  return {
    id: os.ID ?? "",
    ...(os.VERSION_ID ? { versionId: os.VERSION_ID } : {}),
    ...(os.SYSEXT_LEVEL ? { sysextLevel: os.SYSEXT_LEVEL } : {}),
    idLike: (os.ID_LIKE ?? "").split(/\s+/).filter(Boolean),
    arch: ARCH,
  };
}

/** Squashfs image of `files` (with optional strict xattrs) at `${work}/${name}.raw`. */
export async function squash(
  work: string,
  name: string,
  files: { path: string; text: string; xattr?: string }[],
): Promise<string> {
  const dir = join(work, `src-${name}`);
  for (const f of files) {
    await mkdir(join(dir, f.path, ".."), { recursive: true });
    await writeFile(join(dir, f.path), f.text);
    if (f.xattr !== undefined)
      await execa("setfattr", ["-n", "user.extension-release.strict", "-v", f.xattr, join(dir, f.path)]);
  }
  const out = join(work, `${name}.raw`);
  await execa("mksquashfs", [dir, out, "-noappend", "-quiet", "-all-root", "-no-progress"]);
  return out;
}
