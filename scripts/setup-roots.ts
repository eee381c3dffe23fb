// Make the cached Debian roots the tests use (scripts/roots.ts), so CI pays for debootstrap once, up front.
//
//   tsx scripts/setup-roots.ts              # every root
//   tsx scripts/setup-roots.ts trixie-tools # some
import { ensureRoot, ROOTS, type RootName } from "./roots.js";
import { runMain } from "../src/cli/run-main.js";

await runMain(async () => {
  const names = process.argv.slice(2);
  const wanted = (names.length > 0 ? names : Object.keys(ROOTS)) as RootName[];
  for (const n of wanted) {
    if (!(n in ROOTS)) {
      throw new Error(`unknown root ${n}; known: ${Object.keys(ROOTS).join(", ")}`);
    }
    const t0 = Date.now();
    const path = await ensureRoot(n);
    process.stderr.write(`setup-roots: ${n} at ${path} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
});
