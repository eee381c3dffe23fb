// A fresh Debian 12 machine runs every test: no test skips, a missing tool fails naming its package, and
// scripts/setup-debian.sh (README command 1) installs every package a tool of the tests comes from.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TOOL_PACKAGES } from "../../src/util/exec.js";
import { REPO } from "../helpers/cli.js";
import { missingToolsMessage, needTools } from "../helpers/tools.js";

async function testSources(dir = join(REPO, "test")): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await testSources(p)));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

/** The package names of the `packages=( ... )` array of scripts/setup-debian.sh. */
export async function setupPackages(): Promise<string[]> {
  const text = await readFile(join(REPO, "scripts/setup-debian.sh"), "utf8");
  const body = /^packages=\(\n([\s\S]*?)^\)/m.exec(text)?.[1] ?? "";
  return body
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .flatMap((l) => l.split(/\s+/))
    .filter(Boolean);
}

describe("zero skipped tests", () => {
  it("no test file skips a test, or returns early when a tool or root is missing", async () => {
    const offenders: string[] = [];
    const skip =
      /\b(describe|it|test)\.(skip|skipIf|runIf|todo)\b|\bctx\.skip\(|\bcontext\.skip\(|\.skip\(\)/;
    const silent = /if \(!(ok|tools|ready|t\.tools)\) return|haveTools|precondition\(/;
    for (const file of await testSources()) {
      if (file.endsWith("zero-skips.test.ts") || file.endsWith("helpers/tools.ts")) continue;
      const lines = (await readFile(file, "utf8")).split("\n");
      lines.forEach((l, i) => {
        if (skip.test(l) || silent.test(l))
          offenders.push(`${file.slice(REPO.length)}:${i + 1}: ${l.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it("a missing tool fails the test with the Debian package and the setup script in the message", async () => {
    await expect(needTools("mksquashfs", "sysextkit-no-such-tool")).rejects.toThrow(
      /missing tool\(s\) sysextkit-no-such-tool .*setup-debian\.sh/,
    );
    expect(missingToolsMessage(["mkfs.erofs", "getfattr"])).toContain("Debian packages erofs-utils attr");
  });

  it("scripts/setup-debian.sh installs the package of every tool sysextkit and its tests run", async () => {
    const listed = new Set(await setupPackages());
    const missing = Object.entries(TOOL_PACKAGES)
      .filter(([, pkg]) => !listed.has(pkg))
      .map(([tool, pkg]) => `${tool} (${pkg})`);
    expect(missing).toEqual([]);
  });

  it("every tool a test asks for by name has its Debian package in TOOL_PACKAGES", async () => {
    const unknown = new Set<string>();
    for (const file of await testSources()) {
      const text = await readFile(file, "utf8");
      for (const call of text.matchAll(/needTools\(([^)]*)\)/g)) {
        for (const m of call[1]!.matchAll(/"([^"]+)"/g)) if (!(m[1]! in TOOL_PACKAGES)) unknown.add(m[1]!);
      }
    }
    unknown.delete("sysextkit-no-such-tool");
    expect([...unknown]).toEqual([]);
  });
});
