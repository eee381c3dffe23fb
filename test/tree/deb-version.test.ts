// dpkg version ordering (deb-version(7)), checked against dpkg --compare-versions.
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { compareDebVersions, stripEpoch } from "../../src/tree/deb/version.js";
import { needTools } from "../helpers/tools.js";

await needTools("dpkg");

describe("dpkg version comparison (checked against dpkg --compare-versions)", () => {
  const table: Array<[string, "<" | "=" | ">", string]> = [
    ["1.0~rc1", "<", "1.0"],
    ["1:0.9", ">", "2.0"],
    ["1.0-1", "<", "1.0-1+b1"],
    ["1.0", "=", "1.0-0"],
    ["0:1.0", "=", "1.0"],
    ["1.0~~", "<", "1.0~"],
    ["1.0~", "<", "1.0"],
    ["1.0", "<", "1.0a"],
    ["1.0a", "<", "1.0+"],
    ["1.0.1", ">", "1.0"],
    ["1.10", ">", "1.9"],
    ["1.001", "=", "1.1"],
    ["2.36-9+deb12u4", ">", "2.36-9"],
    ["3.0.11-1~deb12u2", "<", "3.0.11-1"],
    ["1:1.2.13.dfsg-1", ">", "1.2.14"],
    ["2:12.2.0-1", ">", "1:99"],
    ["1.2-3", "<", "1.2-10"],
    ["a", "<", "b"],
  ];
  for (const [a, rel, b] of table) {
    it(`${a} ${rel} ${b}`, async () => {
      const want = rel === "<" ? -1 : rel === ">" ? 1 : 0;
      expect(compareDebVersions(a, b)).toBe(want);
      expect(compareDebVersions(b, a)).toBe(want === 0 ? 0 : -want);
      const cmp = { "<": "lt", ">": "gt", "=": "eq" }[rel];
      expect((await execa("dpkg", ["--compare-versions", a, cmp, b], { reject: false })).exitCode).toBe(0);
    });
  }
  it("strips the epoch only", () => {
    expect(stripEpoch("2:12.2.0-1+deb12u2")).toBe("12.2.0-1+deb12u2");
    expect(stripEpoch("1.0~rc1-1")).toBe("1.0~rc1-1");
  });
});
