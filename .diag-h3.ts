import { buildExtension, loadSpecFile, readBase } from "./src/index.js";
import { CATALOG_DIR, resolveExtensionFiles } from "./src/manifest/release-spec.js";
import { SysextError } from "./src/errors.js";
const base = await readBase({ path: "/var/cache/sysextkit/bases/bookworm-systemd" });
for (const file of await resolveExtensionFiles(undefined, CATALOG_DIR)) {
  const spec = await loadSpecFile(file);
  if (process.argv[2] && spec.spec.name !== process.argv[2]) continue;
  try {
    const r = await buildExtension({ spec, base, outDir: "/tmp/h3/out", vars: { debDir: "/var/cache/sysextkit/debs/amd64" } });
    console.log("OK", r.name, r.size, r.version);
    for (const f of r.findings) if (f.severity !== "info" || process.argv[3]) console.log("  ", f.severity, f.code, f.path ?? "", f.message);
  } catch (e) {
    console.log("FAIL", spec.spec.name, (e as Error).message);
    if (e instanceof SysextError && Array.isArray(e.details)) for (const f of e.details) if (f.severity !== "info" || process.argv[3]) console.log("  ", f.severity, f.code, f.path ?? "", f.message);
  }
}
