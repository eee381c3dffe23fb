// Tests for the path glob matcher used by exclude, strip and relocate rules.
import { describe, expect, it } from "vitest";
import { matchesAnyGlob, matchGlob } from "../../src/tree/glob.js";
import { thrown } from "../helpers/errors.js";

describe("matchGlob", () => {
  it.each([
    ["usr/bin/foo", "usr/bin/foo", true],
    ["usr/bin/*", "usr/bin/foo", true],
    ["usr/bin/*", "usr/bin/sub/foo", false],
    ["usr/*/foo", "usr/bin/foo", true],
    ["*.md", "README.md", true],
    ["*.md", "docs/README.md", false],
    ["**/*.md", "README.md", true],
    ["**/*.md", "docs/a/README.md", true],
    ["usr/share/doc/**", "usr/share/doc", true],
    ["usr/share/doc/**", "usr/share/doc/x/y", true],
    ["usr/share/doc/**", "usr/share/docs", false],
    ["usr/**/man?", "usr/man1", true],
    ["usr/**/man?", "usr/share/man/man8", true],
    ["usr/**/man?", "usr/share/man/man10", false],
    ["**", "anything/at/all", true],
    ["**/**", "a/b", true],
    ["/etc/foo", "etc/foo", true],
    ["./etc/", "etc", true],
    ["lib[0-9].so", "lib5.so", true],
    ["lib[!0-9].so", "lib5.so", false],
    ["lib[!0-9].so", "libx.so", true],
    ["a.b", "axb", false],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["?", "/", false],
    ["file(1)+", "file(1)+", true],
  ])("%s vs %s -> %s", (pattern, path, want) => {
    expect(matchGlob(pattern, path)).toBe(want);
  });

  it("many stars against a long name that does not match end quickly (no backtracking blow-up)", () => {
    // A backtracking regular expression takes longer than the universe's age for this one.
    expect(matchGlob("*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(200))).toBe(false);
    expect(matchGlob("**/*a*a*a*a*a*a*a*a*a*a*", `${"x/".repeat(50)}${"a".repeat(10)}`)).toBe(true);
  });

  it("refuses a malformed character class with SPEC_INVALID", () => {
    expect(thrown(() => matchGlob("lib[z-a].so", "libx.so"), "SPEC_INVALID").hint).toBeTruthy();
  });

  it("matchesAnyGlob also matches below a matching directory", () => {
    expect(matchesAnyGlob(["usr/share/doc"], "usr/share/doc/pkg/copyright")).toBe(true);
    expect(matchesAnyGlob(["usr/share/doc"], "usr/share/docs/x")).toBe(false);
    expect(matchesAnyGlob([], "x")).toBe(false);
    expect(matchesAnyGlob(["*.pyc", "etc"], "usr/lib/x.pyc")).toBe(false);
    expect(matchesAnyGlob(["**/*.pyc"], "usr/lib/x.pyc")).toBe(true);
  });
});
