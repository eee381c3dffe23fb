// Dependencies are checked against packages of the target architecture (Multi-Arch and :any as dpkg does),
// and a base root of another architecture is refused with the --arch to pass.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/base/arch.js";
import { readBase } from "../../src/base/base.js";
import {
  archSatisfies,
  PackageIndex,
  parseRelations,
  type AvailablePackage,
} from "../../src/tree/deb/depends.js";
import { addDebSource } from "../../src/tree/sources/deb.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { buildWithDpkg } from "../helpers/deb.js";
import { rejection } from "../helpers/errors.js";
import { needTools } from "../helpers/tools.js";
import { debSource } from "./source-context.js";

const pkg = (name: string, architecture: string, multiArch?: AvailablePackage["multiArch"], provides = "") =>
  ({
    name,
    version: "1.0",
    architecture,
    provides,
    from: "base",
    ...(multiArch ? { multiArch } : {}),
  }) as AvailablePackage;

const met = (index: PackageIndex, dep: string, target: string) =>
  parseRelations(dep)[0]!.some((a) => index.satisfies(a, target));

describe("architecture of dependencies (dpkg's deparchsatisfied)", () => {
  // Defect: libc6:amd64 in the base satisfied an arm64 package's "libc6".
  it("a plain dependency needs the target architecture (or Architecture: all)", () => {
    const amd64Base = new PackageIndex([pkg("libc6", "amd64", "same"), pkg("tzdata", "all")]);
    expect(met(amd64Base, "libc6 (>= 1.0)", "arm64")).toBe(false);
    expect(met(amd64Base, "libc6", "amd64")).toBe(true);
    expect(met(amd64Base, "tzdata", "arm64")).toBe(true);
    expect(met(new PackageIndex([pkg("libc6", "arm64", "same")]), "libc6", "arm64")).toBe(true);
  });

  it("Multi-Arch: foreign satisfies any architecture; :any needs Multi-Arch: allowed", () => {
    const base = new PackageIndex([
      pkg("debconf-tool", "amd64", "foreign"),
      pkg("python3", "amd64", "allowed"),
      pkg("perl", "amd64"),
      pkg("libfoo1", "amd64", "same", "libfoo-abi-1"),
    ]);
    expect(met(base, "debconf-tool", "arm64")).toBe(true);
    expect(met(base, "python3:any", "arm64")).toBe(true);
    expect(met(base, "python3", "arm64")).toBe(false);
    expect(met(base, "perl:any", "amd64")).toBe(false);
    expect(met(base, "perl:native", "amd64")).toBe(true);
    expect(met(base, "perl:amd64", "arm64")).toBe(true);
    // A virtual package has its provider's architecture.
    expect(met(base, "libfoo-abi-1", "arm64")).toBe(false);
    expect(met(base, "libfoo-abi-1", "amd64")).toBe(true);
  });

  it("archSatisfies mirrors the table of deb-arch rules", () => {
    expect(archSatisfies({ architecture: "all", multiArch: "no" }, undefined, "riscv64")).toBe(true);
    expect(archSatisfies({ architecture: "all", multiArch: "no" }, "any", "riscv64")).toBe(false);
    expect(archSatisfies({ architecture: "arm64", multiArch: "allowed" }, "any", "amd64")).toBe(true);
  });
});

describe("a base root of another architecture", () => {
  let tmp: string;
  const STATUS = (arch: string) =>
    [
      `Package: dpkg\nStatus: install ok installed\nArchitecture: ${arch}\nMulti-Arch: foreign\nVersion: 1.21.22\n`,
      `Package: libc6\nStatus: install ok installed\nArchitecture: ${arch}\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\n`,
    ].join("\n");
  const root = async (name: string, arch: string) => {
    const r = join(tmp, name);
    await mkdir(join(r, "usr/lib"), { recursive: true });
    await mkdir(join(r, "var/lib/dpkg"), { recursive: true });
    await writeFile(join(r, "usr/lib/os-release"), "ID=debian\nVERSION_ID=12\n");
    await writeFile(join(r, "var/lib/dpkg/status"), STATUS(arch));
    return r;
  };
  const ctxFor = async (rootDir: string, arch?: string) => {
    const base = await readBase({ path: rootDir, ...(arch ? { arch } : {}) });
    return {
      specDir: tmp,
      templatesDir: join(tmp, "templates"),
      vars: {},
      base,
      arch: base.arch,
      workDir: join(tmp, "work"),
      epoch: 0,
      findings: [],
    };
  };

  beforeAll(async () => {
    await needTools("dpkg-deb");
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-debarch-"));
    for (const arch of ["arm64", "amd64"]) {
      await buildWithDpkg(
        {
          package: "agent",
          version: "1.0",
          arch,
          fields: { Depends: "libc6 (>= 2.34)" },
          files: { "usr/bin/agent": "a" },
        },
        join(tmp, "debs"),
      );
    }
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  // Defect: building arm64 .deb files against an amd64 base root succeeded.
  it("refuses arm64 packages against an amd64 root, saying what to pass", async () => {
    const ctx = await ctxFor(await root("amd64-root", "amd64"), "arm64");
    const e = await rejection(
      addDebSource(new TreeBuilder(), debSource({ packages: ["agent"], dir: "debs" }), ctx),
      "PACKAGE_ARCH",
    );
    expect(e.message).toMatch(
      /is a Debian amd64 system .* built for arm64 as asked \(--arch\) \(Debian arm64\)/,
    );
    expect(e.hint).toMatch(/pass --arch x86-64; to build for arm64, pass a arm64 base root/);
    expect(e.location?.file).toMatch(/amd64-root\/var\/lib\/dpkg\/status$/);
  });

  it("without --arch, a root of another architecture than this machine's asks for its --arch", async () => {
    const other =
      hostArch() === "arm64" ? { deb: "amd64", systemd: "x86-64" } : { deb: "arm64", systemd: "arm64" };
    const ctx = await ctxFor(await root(`other-root`, other.deb));
    const e = await rejection(
      addDebSource(new TreeBuilder(), debSource({ packages: ["agent"], dir: "debs" }), ctx),
      "PACKAGE_ARCH",
    );
    expect(e.message).toContain(`this machine's architecture ${hostArch()}, the default without --arch`);
    expect(e.hint).toContain(`pass --arch ${other.systemd}`);
  });

  it("builds arm64 packages against an arm64 root with --arch arm64", async () => {
    const ctx = await ctxFor(await root("arm64-root-2", "arm64"), "arm64");
    const b = new TreeBuilder();
    await addDebSource(b, debSource({ packages: ["agent"], dir: "debs" }), ctx);
    expect(b.has("usr/bin/agent")).toBe(true);
  });
});
