// `npm run bench` (first part): start-up of `sysextkit --version` and `--help` from the installed layout against bare node.
//
// The installed layout is bin/, dist/ and the data directories without src/ (so bin/ loads dist/, as from a
// registry install), next to this checkout's node_modules. Target: at most 0.15 s for both on a quiet machine.
import { execa } from "execa";
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runMain } from "../src/cli/run-main.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 15);
const TARGET = 0.15;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function seconds(args: string[], cwd: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await execa(process.execPath, args, { cwd, stdio: "ignore" });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

await runMain(async () => {
  await execa("npm", ["run", "build"], { cwd: ROOT, stdio: "ignore" });
  const work = await mkdtemp(join(tmpdir(), "sysextkit-startup-"));
  try {
    const pkg = join(work, "sysextkit");
    await mkdir(pkg);
    for (const d of ["bin", "dist", "schema", "templates", "extensions", "package.json"])
      await cp(join(ROOT, d), join(pkg, d), { recursive: true });
    await symlink(join(ROOT, "node_modules"), join(pkg, "node_modules"));
    const bin = join(pkg, "bin", "sysextkit.js");
    const cases: Array<[string, string[], string]> = [
      ["bare node -e ''", ["-e", ""], work],
      ["sysextkit --version (installed)", [bin, "--version"], work],
      ["sysextkit --help (installed)", [bin, "--help"], work],
      // Same help through commander and the command table (no fast path in bin/): what usage errors also pay.
      ["sysextkit help (installed, commander)", [bin, "help"], work],
      ["sysextkit --version (checkout, tsx)", [join(ROOT, "bin/sysextkit.js"), "--version"], ROOT],
    ];
    const times = new Map<string, number[]>(cases.map(([l]) => [l, []]));
    // Interleaved rounds, so load on the machine hits every case alike.
    for (let i = 0; i < ROUNDS; i++)
      for (const [label, args, cwd] of cases) times.get(label)!.push(await seconds(args, cwd));
    const bare = median(times.get(cases[0]![0])!);
    console.log(`start-up (${ROUNDS} rounds, medians; target for the installed CLI: <= ${TARGET} s)`);
    for (const [label] of cases) {
      const t = median(times.get(label)!);
      const extra = label.startsWith("bare")
        ? ""
        : `, ${(t / bare).toFixed(2)}x bare node, +${((t - bare) * 1000).toFixed(0)} ms`;
      console.log(`  ${label.padEnd(38)} ${t.toFixed(3)} s${extra}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
