// Errors are printed the same way by the CLI and by every script and example entry point: message, location,
// hint; a bug as one line saying how to get the stack trace (--verbose or DEBUG=sysextkit).
import { execa } from "execa";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { reportError, wantsStack } from "../../src/cli/output.js";
import { SysextError } from "../../src/errors.js";
import { REPO } from "../helpers/cli.js";

const STACK_FRAME = /^\s+at /m;

function captureStderr(): { text: () => string } {
  let out = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  return { text: () => out };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("reportError", () => {
  it("prints an internal error as one line with where it happened and how to get the stack", () => {
    const err = captureStderr();
    const code = reportError(
      new TypeError("cannot read properties of undefined (reading 'x')"),
      false,
      false,
    );
    expect(code).toBe(1);
    const text = err.text();
    expect(text).toMatch(
      /^sysextkit: internal error: cannot read properties of undefined \(reading 'x'\) \(at \S+:\d+\)\n/,
    );
    expect(text).toMatch(/--verbose \(or DEBUG=sysextkit\)/);
    expect(text).not.toMatch(STACK_FRAME);
    expect(text.trim().split("\n")).toHaveLength(2);
  });

  it("prints the stack and the causes with --verbose", () => {
    const err = captureStderr();
    const e = new SysextError("IO", "cannot write", { cause: new Error("EACCES: permission denied") });
    reportError(e, false, true);
    expect(err.text()).toMatch(STACK_FRAME);
    expect(err.text()).toMatch(/caused by: Error: EACCES/);
  });

  it("prints a SysextError as message, location and hint without a stack", () => {
    const err = captureStderr();
    const e = new SysextError("SPEC_INVALID", "name: required", {
      location: { file: "x.yaml", line: 3, field: "name" },
      hint: "add a name",
    });
    expect(reportError(e, false, false)).toBe(1);
    expect(err.text()).toBe("sysextkit: error: x.yaml:3 (field name): name: required\n  hint: add a name\n");
  });

  it("asks for the stack with --verbose or DEBUG naming sysextkit", () => {
    expect(wantsStack(["node", "x", "--verbose"], {})).toBe(true);
    expect(wantsStack(["node", "x"], { DEBUG: "sysextkit" })).toBe(true);
    expect(wantsStack(["node", "x"], { DEBUG: "express,sysextkit:*" })).toBe(true);
    expect(wantsStack(["node", "x"], { DEBUG: "*" })).toBe(true);
    expect(wantsStack(["node", "x"], { DEBUG: "express" })).toBe(false);
    expect(wantsStack(["node", "x"], {})).toBe(false);
  });
});

/** .ts files under scripts/, examples/ and bench/ that no other file imports: the ones people run. */
async function entryPoints(): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith(".ts")) files.push(p);
    }
  };
  for (const d of ["scripts", "examples", "bench"]) await walk(join(REPO, d));
  const texts = await Promise.all(files.map((f) => readFile(f, "utf8")));
  return files.filter((f) => {
    const base = f.slice(f.lastIndexOf("/") + 1).replace(/\.ts$/, ".js");
    return !texts.some((t) => t.includes(`/${base}"`));
  });
}

describe("script and example entry points", () => {
  it("every one runs its main code through runMain", async () => {
    const found = await entryPoints();
    expect(found.length).toBeGreaterThanOrEqual(4);
    const without: string[] = [];
    for (const f of found)
      if (!(await readFile(f, "utf8")).includes("await runMain(")) without.push(relative(REPO, f));
    expect(without).toEqual([]);
  });

  // Defect: `npm run example` printed a raw Node stack trace instead of sysextkit's error message.
  it("npm run example prints a bad option and a bad base like the CLI: message, location, hint, no stack", async () => {
    const run = (args: string[]) =>
      execa(process.execPath, ["--import", "tsx", "examples/debian-bookworm/build-all.ts", ...args], {
        cwd: REPO,
        reject: false,
        env: { DEBUG: "" },
      });
    const usage = await run(["--bogus"]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toMatch(/sysextkit: error: Unknown option '--bogus'/);
    expect(usage.stderr).toMatch(/hint: options: --out DIR/);
    expect(usage.stderr).not.toMatch(STACK_FRAME);
    const base = await run(["--base", "/nonexistent/base-root"]);
    expect(base.exitCode).toBe(1);
    expect(base.stderr).toMatch(/sysextkit: error: \/nonexistent\/base-root: cannot read base/);
    expect(base.stderr).toMatch(/hint: pass an os-release file/);
    expect(base.stderr).not.toMatch(STACK_FRAME);
    const verbose = await run(["--base", "/nonexistent/base-root", "--verbose"]);
    expect(verbose.stderr).toMatch(STACK_FRAME);
  });
});
