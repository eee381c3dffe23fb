// Checks of a release's systemd-sysupdate side: published names match the patterns, generated files are what we would write.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExtensionEntry, ReleaseManifest } from "./schema.js";
import {
  extensionPattern,
  matchPattern,
  osImageName,
  stagePattern,
  sysupdateFileNames,
  sysupdateFiles,
} from "./sysupdate.js";

/** Failures of one extension's sysupdate entry in the release directory `dir` (empty when it holds). */
export async function sysupdateFailures(
  dir: string,
  m: ReleaseManifest,
  e: ExtensionEntry,
): Promise<string[]> {
  const out: string[] = [];
  const s = e.sysupdate;
  const os = m.base.versionId;
  if (s.matchPattern !== extensionPattern(e.name))
    out.push(`${e.name}: sysupdate matchPattern ${s.matchPattern}, expected ${extensionPattern(e.name)}`);
  if (s.stagePattern !== stagePattern(e.name))
    out.push(`${e.name}: sysupdate stagePattern ${s.stagePattern}, expected ${stagePattern(e.name)}`);
  const v = matchPattern(extensionPattern(e.name), e.image.file, { arch: e.arch, osVersion: os });
  if (v !== s.version)
    out.push(
      `${e.image.file}: systemd-sysupdate on ${m.base.id} ${os} reads version ${v ?? "(no match)"} from it, manifest.json says ${s.version}`,
    );
  if (
    s.osImage !== osImageName(e.name, os, e.arch) ||
    matchPattern(stagePattern(e.name), s.osImage, e) !== os
  )
    out.push(`${s.osImage}: not the staging name ${osImageName(e.name, os, e.arch)} of OS version ${os}`);
  const url = m.sysupdateUrl;
  const want = sysupdateFiles(e.name, { verify: m.signature !== undefined, ...(url ? { url } : {}) });
  const names = sysupdateFileNames(e.name, url !== undefined);
  if (JSON.stringify(s.files) !== JSON.stringify(names))
    out.push(`${e.name}: sysupdate files ${s.files.join(", ")}, expected ${names.join(", ")}`);
  for (const f of want) {
    const text = await readFile(join(dir, f.file), "utf8").catch(() => undefined);
    if (text === undefined) out.push(`${f.file}: sysupdate file missing`);
    else if (text !== f.text)
      out.push(
        `${f.file}: differs from what sysextkit generates for this release (Verify=${m.signature ? "true" : "false"}${url ? `, Path=${url}` : ""})`,
      );
  }
  return out;
}
