// Tests for TreeBuilder (conflicts, implicit parents, moves, symlink safety) and path normalisation.
import { describe, expect, it } from "vitest";
import { comparePaths, normalizeEntryPath, parentOf, resolveLinkTarget } from "../../src/tree/paths.js";
import { TreeBuilder, treeContentSize } from "../../src/tree/tree.js";
import type { FileEntry } from "../../src/tree/types.js";
import { thrown } from "../helpers/errors.js";

const file = (path: string, text: string, origin = "a"): FileEntry => {
  const data = new TextEncoder().encode(text);
  return { type: "file", path, mode: 0o644, size: data.length, content: { kind: "bytes", data }, origin };
};

const codeOf = (fn: () => unknown): string => thrown(fn).code;

describe("normalizeEntryPath", () => {
  it("normalises harmless spellings", () => {
    expect(normalizeEntryPath("./usr//bin/")).toBe("usr/bin");
    expect(normalizeEntryPath("usr/./lib")).toBe("usr/lib");
    expect(normalizeEntryPath(".")).toBe("");
  });
  it.each(["/etc/passwd", "../x", "a/../../x", "a/..", "x\0y"])("refuses %j with PATH_ESCAPE", (p) => {
    expect(codeOf(() => normalizeEntryPath(p))).toBe("PATH_ESCAPE");
  });
  it("names the origin in the message", () => {
    expect(() => normalizeEntryPath("../x", { origin: "tar foo.tar" })).toThrow(/"\.\.\/x" in tar foo\.tar/);
  });
});

describe("resolveLinkTarget and helpers", () => {
  it("resolves relative and absolute targets", () => {
    expect(resolveLinkTarget("usr/bin/x", "../lib/y")).toBe("usr/lib/y");
    expect(resolveLinkTarget("usr/bin/x", "/etc/z/")).toBe("etc/z");
    expect(resolveLinkTarget("usr/x", "../..")).toBeUndefined();
    expect(resolveLinkTarget("x", "..")).toBeUndefined();
  });
  it("compares byte-wise and finds parents", () => {
    expect(["b", "B", "a/b", "a", "ä"].sort(comparePaths)).toEqual(["B", "a", "a/b", "b", "ä"]);
    expect(parentOf("a/b/c")).toBe("a/b");
    expect(parentOf("a")).toBe("");
  });
});

describe("TreeBuilder", () => {
  it("creates implicit parents and builds a sorted, frozen tree", () => {
    const b = new TreeBuilder();
    b.add(file("usr/lib/x/y", "1"));
    b.add(file("opt/a", "22"));
    const tree = b.build();
    expect(tree.entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      "dir:opt",
      "file:opt/a",
      "dir:usr",
      "dir:usr/lib",
      "dir:usr/lib/x",
      "file:usr/lib/x/y",
    ]);
    expect(tree.entries[0]?.mode).toBe(0o755);
    expect(Object.isFrozen(tree.entries[1])).toBe(true);
    expect(treeContentSize(tree)).toBe(3);
  });

  it("lets an explicit directory override an implicit parent, and merges directories", () => {
    const b = new TreeBuilder();
    b.add(file("usr/x", "1"));
    b.add({ type: "dir", path: "usr", mode: 0o750, origin: "explicit" });
    expect(b.get("usr")?.mode).toBe(0o750);
    b.add({ type: "dir", path: "usr", mode: 0o700, origin: "later" });
    expect(b.get("usr")?.mode).toBe(0o750);
    b.add({ type: "dir", path: "usr", mode: 0o711, origin: "later" }, "replace");
    expect(b.get("usr")?.mode).toBe(0o711);
  });

  it("applies the conflict policies", () => {
    const b = new TreeBuilder();
    b.add(file("etc/f", "first", "one"));
    expect(codeOf(() => b.add(file("etc/f", "second", "two")))).toBe("PATH_CONFLICT");
    b.add(file("etc/f", "kept?", "three"), "keep");
    expect(b.get("etc/f")?.origin).toBe("one");
    b.add(file("etc/f", "replaced", "four"), "replace");
    expect(b.get("etc/f")?.origin).toBe("four");
  });

  it("refuses to replace a populated directory with a file", () => {
    const b = new TreeBuilder();
    b.add(file("usr/lib/a", "1"));
    expect(codeOf(() => b.add(file("usr/lib", "x"), "replace"))).toBe("PATH_CONFLICT");
  });

  it("refuses writing through a symlink and escaping symlinks", () => {
    const b = new TreeBuilder();
    b.add({ type: "symlink", path: "usr/x", target: "../opt", mode: 0o777, origin: "l" });
    expect(codeOf(() => b.add(file("usr/x/y", "1")))).toBe("PATH_ESCAPE");
    expect(
      codeOf(() => b.add({ type: "symlink", path: "usr/z", target: "../../..", mode: 0o777, origin: "l" })),
    ).toBe("PATH_ESCAPE");
    b.add({ type: "symlink", path: "usr/abs", target: "/etc/passwd", mode: 0o777, origin: "l" });
    expect(b.has("usr/abs")).toBe(true);
  });

  it("refuses writing below a regular file", () => {
    const b = new TreeBuilder();
    b.add(file("usr/f", "1"));
    expect(codeOf(() => b.add(file("usr/f/g", "1")))).toBe("PATH_CONFLICT");
  });

  it("moves and removes subtrees", () => {
    const b = new TreeBuilder();
    b.add(file("etc/app/a.conf", "a"));
    b.add(file("etc/app/sub/b.conf", "b"));
    b.add(file("usr/share/app/keep", "k"));
    expect(b.moveSubtree("etc/app", "usr/share/app")).toBe(4);
    expect(b.has("etc/app")).toBe(false);
    expect(b.get("usr/share/app/sub/b.conf")?.type).toBe("file");
    expect(b.has("usr/share/app/keep")).toBe(true);
    expect(b.removeSubtree("usr/share/app/sub")).toBe(2);
    expect([...b.paths()].sort(comparePaths)).toEqual([
      "etc",
      "usr",
      "usr/share",
      "usr/share/app",
      "usr/share/app/a.conf",
      "usr/share/app/keep",
    ]);
  });

  it("moveSubtree follows the conflict policy", () => {
    const b = new TreeBuilder();
    b.add(file("etc/x", "old"));
    b.add(file("usr/x", "there", "existing"));
    expect(codeOf(() => b.moveSubtree("etc/x", "usr/x"))).toBe("PATH_CONFLICT");
    const c = new TreeBuilder();
    c.add(file("etc/x", "new", "moved"));
    c.add(file("usr/x", "there", "existing"));
    c.moveSubtree("etc/x", "usr/x", "replace");
    expect(c.get("usr/x")?.origin).toBe("moved");
  });

  it.each(["../x", "usr/../../x", "/etc/x", "usr//x", "usr/./x", "usr/x/", "usr/x\0"])(
    "refuses the unnormalised path %j from any caller (PATH_ESCAPE)",
    (path) => {
      const b = new TreeBuilder();
      expect(codeOf(() => b.add(file(path, "x")))).toBe("PATH_ESCAPE");
      expect(codeOf(() => b.add({ type: "dir", path, mode: 0o755, origin: "d" }))).toBe("PATH_ESCAPE");
      expect(b.size).toBe(0);
    },
  );

  it("only accepts a directory for the root", () => {
    const b = new TreeBuilder();
    b.add({ type: "dir", path: "", mode: 0o755, origin: "r" });
    expect(b.size).toBe(0);
    expect(codeOf(() => b.add(file("", "x")))).toBe("PATH_ESCAPE");
  });
});
