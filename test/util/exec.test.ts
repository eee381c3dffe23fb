// Binary data through external tools: every byte comes back, whatever the data ends with.
import { describe, expect, it } from "vitest";
import { requireTool, runBinary, runTool, spawnTool } from "../../src/util/exec.js";

const ENDINGS: ReadonlyArray<[string, Buffer]> = [
  ["\\n", Buffer.from("line one\nline two\n")],
  ["\\r\\n", Buffer.from("line one\r\nline two\r\n")],
  ["\\0", Buffer.from("abc\0")],
  ["\\n\\n", Buffer.from("x\n\n")],
  ["a lone \\n", Buffer.from("\n")],
  ["nothing", Buffer.alloc(0)],
];

describe("execa stripped the final newline of binary output", () => {
  for (const [label, data] of ENDINGS) {
    it(`runBinary returns data ending in ${label} unchanged (cat)`, async () => {
      const out = await runBinary(await requireTool("cat"), [], data);
      expect(out.equals(data)).toBe(true);
    });
    it(`bzip2 round trip of data ending in ${label} is exact`, async () => {
      const bz = await runBinary(await requireTool("bzip2"), ["-9", "-c"], data);
      const back = await runBinary(await requireTool("bzip2"), ["-d", "-c"], bz);
      expect(back.equals(data)).toBe(true);
    });
  }

  it("runTool and spawnTool keep a text output's final newline", async () => {
    expect((await runTool("printf", ["a\\n"])).stdout).toBe("a\n");
    const r = await spawnTool(await requireTool("printf"), ["b\\r\\n"], { encoding: "buffer" });
    expect(Buffer.from(r.stdout).toString("latin1")).toBe("b\r\n");
  });
});
