// Base release reading and architecture spellings.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { debianArch, lookupArch, normalizeArch } from "../../src/base/arch.js";
import { readBase } from "../../src/base/base.js";
import { parseEnvFile } from "../../src/util/env-file.js";
import { renderEnvFile } from "../../src/util/kv-writer.js";

/** A scratch directory removed when the test ends. */
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sysextkit-base-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("architectures", () => {
  it.each([
    ["x86_64", "x86-64"],
    ["amd64", "x86-64"],
    ["amd64-usr", "x86-64"],
    ["aarch64", "arm64"],
    ["arm64-usr", "arm64"],
    ["ppc64el", "ppc64-le"],
    ["riscv64", "riscv64"],
    ["i686", "x86"],
  ])("%s -> %s", (input, want) => expect(normalizeArch(input)).toBe(want));

  it("refuses unknown names with a hint", () => {
    expect(() => normalizeArch("pdp11")).toThrow(/unknown architecture/);
    expect(lookupArch("x86-64")).toBe("x86-64");
    expect(debianArch("arm64")).toBe("arm64");
    expect(debianArch("x86-64")).toBe("amd64");
  });
});

describe("os-release", () => {
  it("parses quotes, escapes and comments, and quotes only where needed", () => {
    const m = parseEnvFile('# c\nID=flatcar\nNAME="Flatcar \\"CL\\""\nPRETTY=\'a b\'\nX=1 # trailing\n');
    expect(Object.fromEntries(m)).toEqual({ ID: "flatcar", NAME: 'Flatcar "CL"', PRETTY: "a b", X: "1" });
    expect(
      renderEnvFile("test", [
        ["ID", "flatcar"],
        ["SYSEXT_NAME", "Microsoft Azure"],
        ["URL", "https://x/"],
      ]),
    ).toBe('ID=flatcar\nSYSEXT_NAME="Microsoft Azure"\nURL=https://x/\n');
  });

  it("reads a root directory (usr/lib first, etc as fallback) and detects merged sbin", async () => {
    const root = await scratch();
    await mkdir(join(root, "usr/lib"), { recursive: true });
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await symlink("bin", join(root, "usr/sbin"));
    await writeFile(
      join(root, "usr/lib/os-release"),
      "ID=flatcar\nVERSION_ID=3815.2.0\nID_LIKE='coreos gentoo'\n",
    );
    const b = await readBase({ path: root, arch: "amd64-usr" });
    expect(b).toMatchObject({
      id: "flatcar",
      versionId: "3815.2.0",
      arch: "x86-64",
      idLike: ["coreos", "gentoo"],
      mergedSbin: true,
      root,
    });
    const etcOnly = await scratch();
    await mkdir(join(etcOnly, "etc"));
    await writeFile(join(etcOnly, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
    expect((await readBase({ path: etcOnly })).versionId).toBe("12");
  });

  it("explicit values override the file; a base without ID is an error naming the field", async () => {
    const dir = await scratch();
    const f = join(dir, "os-release");
    await writeFile(f, "ID=debian\nVERSION_ID=12\n");
    expect((await readBase({ path: f, values: { VERSION_ID: "13" } })).versionId).toBe("13");
    await writeFile(f, "NAME=x\n");
    await expect(readBase({ path: f })).rejects.toMatchObject({
      code: "BASE_INVALID",
      location: { field: "ID" },
    });
    await expect(readBase({ path: join(dir, "missing") })).rejects.toMatchObject({ code: "BASE_INVALID" });
  });
});
