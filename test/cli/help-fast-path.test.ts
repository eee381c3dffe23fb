// bin/sysextkit.js's `--help` fast path: when it prints dist/cli/help.txt and when it leaves help to the CLI, in
// a made-up installed layout (bin/ and a dist/ whose main.js only says it ran); its text is checked against the
// real help in test/project/npm-package.test.ts and by the build (src/cli/help-text.ts).
import { execa } from "execa";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/cli.js";

let pkg: string;

beforeAll(async () => {
  pkg = join(await mkdtemp(join(tmpdir(), "sysextkit-help-")), "sysextkit");
  await mkdir(join(pkg, "dist/cli"), { recursive: true });
  await cp(join(REPO, "bin"), join(pkg, "bin"), { recursive: true });
  await writeFile(join(pkg, "package.json"), JSON.stringify({ version: "9.8.7", type: "module" }));
  await writeFile(
    join(pkg, "dist/cli/main.js"),
    'export async function main(argv) { process.stdout.write(`main ${argv.slice(2).join(" ")}\\n`); return 0; }\n',
  );
});
afterAll(async () => {
  if (pkg) await rm(join(pkg, ".."), { recursive: true, force: true });
});

const run = async (args: string[]) =>
  (await execa(process.execPath, [join(pkg, "bin/sysextkit.js"), ...args], { stripFinalNewline: false }))
    .stdout;

describe("bin --help fast path", () => {
  it("prints dist/cli/help.txt byte for byte for exactly --help or -h", async () => {
    await writeFile(join(pkg, "dist/cli/help.txt"), "Usage: from help.txt\n\n  x  y\n");
    expect(await run(["--help"])).toBe("Usage: from help.txt\n\n  x  y\n");
    expect(await run(["-h"])).toBe("Usage: from help.txt\n\n  x  y\n");
    expect(await run(["--version"])).toBe("9.8.7\n");
  });

  it("leaves other arguments to the CLI", async () => {
    await writeFile(join(pkg, "dist/cli/help.txt"), "Usage: from help.txt\n");
    expect(await run(["--help", "build"])).toBe("main --help build\n");
    expect(await run(["build", "--help"])).toBe("main build --help\n");
    expect(await run(["help"])).toBe("main help\n");
    expect(await run([])).toBe("main \n");
  });

  it("falls back to the CLI when help.txt is missing", async () => {
    await rm(join(pkg, "dist/cli/help.txt"), { force: true });
    expect(await run(["--help"])).toBe("main --help\n");
  });

  it("is not taken in a checkout (src/ present: the sources may be newer than the build)", async () => {
    await writeFile(join(pkg, "dist/cli/help.txt"), "Usage: from help.txt\n");
    await mkdir(join(pkg, "src/cli"), { recursive: true });
    await writeFile(join(pkg, "src/cli/main.ts"), "");
    try {
      // No tsx next to this layout, so bin/ loads dist/ as in a checkout without devDependencies.
      expect(await run(["--help"])).toBe("main --help\n");
    } finally {
      await rm(join(pkg, "src"), { recursive: true, force: true });
    }
  });
});
