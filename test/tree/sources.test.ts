// Tests for the directory, inline file/symlink and template sources.
import { execa } from "execa";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SourceContext } from "../../src/tree/sources/context.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { rejection } from "../helpers/errors.js";
import { needRoot } from "../helpers/tools.js";
import { addRaw, entryText, scratchContext } from "./source-context.js";

let ctx: SourceContext;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ ctx, dir, cleanup } = await scratchContext({ baseId: "flatcar" }));
});
afterEach(() => cleanup());

const add = (builder: TreeBuilder, raw: unknown) => addRaw(builder, raw, ctx);

describe("directory source", () => {
  beforeEach(async () => {
    const root = join(ctx.specDir, "rootfs");
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await mkdir(join(root, "usr/share/doc/pkg"), { recursive: true });
    await writeFile(join(root, "usr/bin/tool"), "#!/bin/sh\necho hi\n");
    await chmod(join(root, "usr/bin/tool"), 0o4755);
    await writeFile(join(root, "usr/share/doc/pkg/README"), "doc");
    await writeFile(join(root, "usr/bin/notes.txt"), "n");
    await chmod(join(root, "usr/share"), 0o750);
    await symlink("tool", join(root, "usr/bin/tool-alias"));
    await symlink("/etc/absolute", join(root, "usr/bin/abs"));
  });

  it("walks with modes and symlinks, without following them", async () => {
    const b = new TreeBuilder();
    const r = await add(b, { type: "directory", path: "rootfs" });
    const tree = b.build();
    expect(tree.entries.map((e) => e.path)).toEqual([
      "usr",
      "usr/bin",
      "usr/bin/abs",
      "usr/bin/notes.txt",
      "usr/bin/tool",
      "usr/bin/tool-alias",
      "usr/share",
      "usr/share/doc",
      "usr/share/doc/pkg",
      "usr/share/doc/pkg/README",
    ]);
    expect(r.entries).toBe(tree.entries.length);
    const tool = b.get("usr/bin/tool");
    expect(tool?.mode).toBe(0o4755);
    expect(tool?.type === "file" && tool.content).toEqual({
      kind: "file",
      path: join(ctx.specDir, "rootfs/usr/bin/tool"),
      offset: 0,
      size: 18,
    });
    expect(await entryText(tool)).toBe("#!/bin/sh\necho hi\n");
    expect(b.get("usr/share")?.mode).toBe(0o750);
    expect(b.get("usr/bin/tool-alias")).toMatchObject({ type: "symlink", target: "tool" });
    expect(b.get("usr/bin/abs")).toMatchObject({ type: "symlink", target: "/etc/absolute" });
  });

  it("places entries under 'to' and honours exclude globs relative to the source root", async () => {
    const b = new TreeBuilder();
    await add(b, {
      type: "directory",
      path: "rootfs",
      to: "/opt/app/",
      exclude: ["usr/share/doc", "**/*.txt"],
    });
    const paths = b.build().entries.map((e) => e.path);
    expect(paths).toContain("opt/app/usr/bin/tool");
    expect(paths).toContain("opt/app/usr/share");
    expect(paths.some((p) => p.includes("doc") || p.endsWith(".txt"))).toBe(false);
  });

  it("records fifos and device nodes so the checks can report them", async () => {
    const root = join(ctx.specDir, "special");
    await mkdir(root);
    needRoot();
    await execa("mkfifo", [join(root, "pipe")]);
    await execa("mknod", [join(root, "whiteout"), "c", "0", "0"]);
    const b = new TreeBuilder();
    await add(b, { type: "directory", path: "special", to: "/usr" });
    expect(b.get("usr/pipe")?.type).toBe("fifo");
    expect(b.get("usr/whiteout")).toMatchObject({ type: "char", devMajor: 0, devMinor: 0 });
  });

  it("refuses a symlink that climbs out of the tree", async () => {
    await symlink("../../../etc", join(ctx.specDir, "rootfs/usr/bin/escape"));
    const e = await rejection(add(new TreeBuilder(), { type: "directory", path: "rootfs" }));
    expect(e.code).toBe("PATH_ESCAPE");
  });

  it("fails with SOURCE_INVALID naming the path, field and a hint when the directory is missing", async () => {
    const e = await rejection(add(new TreeBuilder(), { type: "directory", path: "nope" }));
    expect(e.code).toBe("SOURCE_INVALID");
    expect(e.message).toContain("nope");
    expect(e.location).toMatchObject({ file: join(ctx.specDir, "nope"), field: "path" });
    expect(e.hint).toBeTruthy();
  });

  it("refuses a 'to' with '..'", async () => {
    const e = await rejection(
      add(new TreeBuilder(), { type: "directory", path: "rootfs", to: "/usr/../.." }),
    );
    expect(e.code).toBe("PATH_ESCAPE");
  });

  it("conflicts between sources follow onConflict", async () => {
    const b = new TreeBuilder();
    await add(b, { type: "directory", path: "rootfs" });
    expect((await rejection(add(b, { type: "directory", path: "rootfs" }))).code).toBe("PATH_CONFLICT");
    await add(b, { type: "directory", path: "rootfs", onConflict: "keep" });
    await add(b, { type: "file", path: "/usr/bin/tool", content: "new", onConflict: "replace" });
    expect(await entryText(b.get("usr/bin/tool"))).toBe("new");
  });
});

describe("inline file and symlink sources", () => {
  it("adds a file from inline content with the spec mode", async () => {
    const b = new TreeBuilder();
    await add(b, { type: "file", path: "/usr/lib/demo/hello.sh", content: "echo hi\n", mode: "0755" });
    const e = b.get("usr/lib/demo/hello.sh");
    expect(e).toMatchObject({ type: "file", mode: 0o755, size: 8 });
    expect(e?.type === "file" && e.content.kind).toBe("bytes");
    expect(await entryText(e)).toBe("echo hi\n");
  });

  it("spools a large inline content to the work directory (the tree never holds it: 20 MiB took 850 MB RSS)", async () => {
    const text = "line of text \u00e9\n".repeat(80_000); // 1.2 MiB, multi-byte UTF-8
    const b = new TreeBuilder();
    await add(b, { type: "file", path: "usr/share/big/x", content: text });
    const e = b.get("usr/share/big/x");
    expect(e?.type === "file" && e.content.kind).toBe("file");
    expect(e?.type === "file" && e.content.kind === "file" && e.content.path.startsWith(ctx.workDir)).toBe(
      true,
    );
    expect(e).toMatchObject({ size: Buffer.byteLength(text) });
    expect(await entryText(e)).toBe(text);
  });

  it("adds a file copied from a path relative to the spec directory", async () => {
    await writeFile(join(ctx.specDir, "payload.conf"), "key=value\n");
    const b = new TreeBuilder();
    await add(b, { type: "file", path: "usr/share/demo/payload.conf", from: "payload.conf" });
    const e = b.get("usr/share/demo/payload.conf");
    expect(e?.type === "file" && e.content).toEqual({
      kind: "file",
      path: join(ctx.specDir, "payload.conf"),
      offset: 0,
      size: 10,
    });
    expect(e?.mode).toBe(0o644);
  });

  it("fails with SOURCE_INVALID when 'from' is missing and refuses the root as destination", async () => {
    const e = await rejection(add(new TreeBuilder(), { type: "file", path: "usr/x", from: "missing.txt" }));
    expect(e.code).toBe("SOURCE_INVALID");
    expect(e.location?.field).toBe("from");
    expect((await rejection(add(new TreeBuilder(), { type: "file", path: "/", content: "x" }))).code).toBe(
      "SOURCE_INVALID",
    );
  });

  it("adds symlinks and refuses escaping ones", async () => {
    const b = new TreeBuilder();
    await add(b, { type: "symlink", path: "/usr/bin/demo", target: "../lib/demo/demo" });
    expect(b.get("usr/bin/demo")).toMatchObject({ type: "symlink", target: "../lib/demo/demo", mode: 0o777 });
    const e = await rejection(add(b, { type: "symlink", path: "usr/bad", target: "../../etc/shadow" }));
    expect(e.code).toBe("PATH_ESCAPE");
  });
});

describe("template source", () => {
  it("renders variables from the context and the source (the source wins)", async () => {
    await writeFile(
      join(ctx.templatesDir, "unit.service"),
      "[Unit]\nDescription={{ name }} on {{baseId}}\n[Service]\nExecStart=/usr/bin/{{ bin }} {{ args }}\nLiteral=\\{{ x }}\n",
    );
    const b = new TreeBuilder();
    await add(b, {
      type: "template",
      template: "unit.service",
      path: "usr/lib/systemd/system/demo.service",
      vars: { bin: "demo", args: "--a --b", name: "override" },
    });
    expect(await entryText(b.get("usr/lib/systemd/system/demo.service"))).toBe(
      "[Unit]\nDescription=override on flatcar\n[Service]\nExecStart=/usr/bin/demo --a --b\nLiteral={{ x }}\n",
    );
  });

  it("reads ./ names relative to the spec directory", async () => {
    await writeFile(join(ctx.specDir, "local.tmpl"), "arch={{ arch }}");
    const b = new TreeBuilder();
    await add(b, { type: "template", template: "./local.tmpl", path: "usr/share/x", mode: "0600" });
    expect(b.get("usr/share/x")?.mode).toBe(0o600);
    expect(await entryText(b.get("usr/share/x"))).toBe("arch=x86-64");
  });

  it("reports an unknown variable with file, line and the available names", async () => {
    const file = join(ctx.templatesDir, "bad.conf");
    await writeFile(file, "a={{ name }}\n\nb={{ nope }}\n");
    const e = await rejection(
      add(new TreeBuilder(), { type: "template", template: "bad.conf", path: "usr/x" }),
    );
    expect(e.code).toBe("TEMPLATE_INVALID");
    expect(e.message).toContain("nope");
    expect(e.location).toMatchObject({ file, line: 3 });
    expect(e.hint).toContain("baseId, name");
  });

  it("refuses malformed placeholders and missing templates", async () => {
    await writeFile(join(ctx.templatesDir, "pipe.conf"), 'x={{ list | join " " }}');
    const bad = await rejection(
      add(new TreeBuilder(), { type: "template", template: "pipe.conf", path: "usr/x" }),
    );
    expect(bad.code).toBe("TEMPLATE_INVALID");
    const missing = await rejection(
      add(new TreeBuilder(), { type: "template", template: "nope", path: "usr/x" }),
    );
    expect(missing.code).toBe("TEMPLATE_INVALID");
    expect(missing.message).toContain(join(dir, "templates", "nope"));
  });
});
