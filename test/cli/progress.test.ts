// Progress: on a terminal one self-rewriting line (also when its width reads as 0); in CI logs and pipes
// plain lines at most every few seconds; always on stderr, never on stdout.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressPrinter, type ProgressStream } from "../../src/cli/output.js";
import { cli, REPO } from "../helpers/cli.js";
import { needTools } from "../helpers/tools.js";

function fakeStream(isTTY: boolean, columns?: number): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { out, isTTY, ...(columns === undefined ? {} : { columns }), write: (t: string) => out.push(t) };
}

describe("progressPrinter", () => {
  // Defect: under `script` the width reads as 0, and every line lost its last character.
  it("does not cut lines on a terminal whose width reads as 0", () => {
    const s = fakeStream(true, 0);
    const p = progressPrinter(true, { stream: s });
    p.update("writing squashfs image 42%");
    expect(s.out).toEqual(["\r\x1b[Kwriting squashfs image 42%"]);
    p.done();
    expect(s.out.at(-1)).toBe("\r\x1b[K");
  });

  it("cuts to the terminal width on a real terminal", () => {
    const s = fakeStream(true, 10);
    progressPrinter(true, { stream: s }).update("0123456789abc");
    expect(s.out).toEqual(["\r\x1b[K012345678"]);
  });

  // Defect: without a terminal (CI logs) nothing was printed until the end.
  it("prints plain lines without a terminal, at most one per interval, the first after one interval", () => {
    const s = fakeStream(false);
    let t = 1000;
    const p = progressPrinter(true, { stream: s, now: () => t, intervalMs: 5000 });
    p.update("source 1/3: deb");
    t += 4000;
    p.update("source 2/3: deb");
    t += 1500;
    p.update("source 3/3: tar");
    t += 1000;
    p.update("writing squashfs image 10%");
    t += 5000;
    p.update("writing squashfs image 90%");
    p.done();
    expect(s.out).toEqual(["sysextkit: source 3/3: tar\n", "sysextkit: writing squashfs image 90%\n"]);
  });

  it("prints nothing when disabled", () => {
    const s = fakeStream(false);
    const p = progressPrinter(false, { stream: s, intervalMs: 0 });
    p.update("x");
    p.done();
    expect(s.out).toEqual([]);
  });
});

describe("progress of the CLI in a log", () => {
  let dir: string;
  beforeAll(async () => {
    await needTools("mksquashfs");
    dir = await mkdtemp(join(tmpdir(), "sysextkit-progress-"));
    await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=1\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("goes to stderr as plain lines while stdout carries only the --json result", async () => {
    const r = await cli(
      [
        "build",
        join(REPO, "examples/hello/extension.yaml"),
        "--base",
        join(dir, "os-release"),
        "--out",
        dir,
        "--json",
      ],
      { env: { SYSEXTKIT_PROGRESS_SECONDS: "0" } },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: "hello", schemaVersion: 1 });
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(l).toMatch(/^sysextkit: /);
    expect(r.stderr).toMatch(/sysextkit: writing squashfs image/);
    expect(r.stderr.includes("\r") || r.stderr.includes("\u001b")).toBe(false);
  });
});
