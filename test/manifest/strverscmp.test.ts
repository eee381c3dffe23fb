// strverscmp_improved in TypeScript: systemd's documented order, symmetry, transitivity and termination on random strings.
import { describe, expect, it } from "vitest";
import { newestVersion, strverscmpImproved } from "../../src/manifest/strverscmp.js";
import { REAL_VERSIONS } from "./versions.js";

describe("strverscmpImproved", () => {
  it("orders systemd's documented example list (string-util-fundamental.c)", () => {
    const ordered = [
      "122.1",
      "123~rc1-1",
      "123",
      "123-a",
      "123-a.1",
      "123-1",
      "123-1.1",
      "123^post1",
      "123.a-1",
      "123.1-1",
      "123a-1",
      "124-1",
    ];
    for (let i = 0; i + 1 < ordered.length; i++) {
      expect(strverscmpImproved(ordered[i]!, ordered[i + 1]!), `${ordered[i]} < ${ordered[i + 1]}`).toBe(-1);
      expect(strverscmpImproved(ordered[i + 1]!, ordered[i]!)).toBe(1);
    }
    expect([...ordered].reverse().sort(strverscmpImproved)).toEqual(ordered);
  });

  it("handles the cases sysupdate relies on", () => {
    const lt = (a: string, b: string) => expect(strverscmpImproved(a, b), `${a} < ${b}`).toBe(-1);
    lt("1.0", "1.1");
    lt("1.9", "1.10");
    lt("4081.2.0", "4081.3.0");
    lt("1.0~rc1", "1.0");
    lt("1.0", "1.0.1");
    lt("1.a", "1.0"); // a numeric segment is newer than letters
    lt("", "0");
    expect(strverscmpImproved("1.00", "1.0")).toBe(0);
    expect(strverscmpImproved("1_a", "1a")).toBe(0); // '_' only separates
    expect(strverscmpImproved("", "")).toBe(0);
    expect(newestVersion(["1.0", "1.10", "1.9", "1.10~rc1"], (v) => v)).toBe("1.10");
  });

  it("is antisymmetric and transitive on the real version strings", () => {
    const sorted = [...REAL_VERSIONS].sort(strverscmpImproved);
    for (let i = 0; i < sorted.length; i++)
      for (let j = 0; j < sorted.length; j++) {
        const c = strverscmpImproved(sorted[i]!, sorted[j]!);
        expect(c).toBe(-strverscmpImproved(sorted[j]!, sorted[i]!) || 0);
        if (i < j) expect(c).toBeLessThanOrEqual(0);
      }
  });

  it("terminates and stays antisymmetric on random strings of version characters", () => {
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const chars = "0123456789az.-~^_+,:";
    const word = () => Array.from({ length: rand(8) }, () => chars[rand(chars.length)]).join("");
    for (let k = 0; k < 3000; k++) {
      const a = word();
      const b = word();
      expect(strverscmpImproved(a, b)).toBe(-strverscmpImproved(b, a) || 0);
    }
  });
});
