// Tests of the deb source's dependency check against a base's dpkg status database.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDebSource } from "../../src/tree/sources/deb.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { buildWithDpkg, type DebDef } from "../helpers/deb.js";
import { rejection } from "../helpers/errors.js";
import { needTools } from "../helpers/tools.js";
import { debContext, debSource } from "./source-context.js";

let tmp: string;
await needTools("dpkg-deb");

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-debdeps-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const STATUS = [
  "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 2.36-9+deb12u4\nProvides: libc6-any (= 2.36)\n",
  "Package: python3\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 3.11.2-1+b1\n",
  "Package: exim4-daemon-light\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.96-15\nProvides: mail-transport-agent\n",
  "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\nDescription: compression\n multi-line\n",
  "Package: perl-base\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 5.36.0-7\n",
].join("\n");

/** The PACKAGE_DEPENDS error of a deb source with `packages` from deps/ on a base with STATUS. */
async function unmet(packages: string[]) {
  const ctx = await debContext(tmp, { status: STATUS });
  const source = debSource({ packages, dir: "deps" });
  return rejection(addDebSource(new TreeBuilder(), source, ctx), "PACKAGE_DEPENDS");
}

describe("deb dependency check against the base's dpkg status", () => {
  const dir = () => join(tmp, "deps");
  beforeAll(async () => {
    const mk = (d: DebDef) => buildWithDpkg(d, dir());
    await mk({
      package: "agent",
      version: "3.0-1",
      fields: {
        "Pre-Depends": "libc6 (>= 2.34)",
        Depends:
          "zlib1g (>= 1:1.2.0), perl-base, libc6-any (>= 2.30), python3 (>= 3.11), mail-transport-agent | default-mta, libssl3 (>= 3.0.0), helper:any (>= 2), libc6 (>> 2.37) | libc6-compat",
      },
      files: { "usr/bin/agent": "a" },
    });
    await mk({
      package: "python3-full",
      version: "3.11.2-6",
      fields: { Provides: "python3 (= 3.11.2-6)" },
      files: { "usr/bin/python3": "p" },
    });
    await mk({
      package: "libssl3",
      version: "3.0.11-1~deb12u2",
      files: { "usr/lib/x86_64-linux-gnu/libssl.so.3": "s" },
    });
    await mk({
      package: "helper",
      version: "2.1",
      arch: "all",
      fields: { Provides: "libc6-compat", "Multi-Arch": "allowed" },
      files: { "usr/bin/helper": "h" },
    });
    await mk({
      package: "libssl-old",
      version: "1.1",
      fields: { Provides: "libssl3" },
      files: { "usr/lib/old": "o" },
    });
  });

  it("lists every unmet dependency with its constraint (PACKAGE_DEPENDS)", async () => {
    const e = await unmet(["agent"]);
    const missing = (e.details as Array<{ package: string; dependency: string }>)
      .map((m) => m.dependency)
      .sort();
    expect(missing).toEqual([
      "helper:any (>= 2)",
      "libc6 (>> 2.37) | libc6-compat",
      "libssl3 (>= 3.0.0)",
      "python3 (>= 3.11)",
    ]);
    expect(e.message).toContain("agent: Depends python3 (>= 3.11)");
    expect(e.hint).toContain("skipDependencyCheck");
  });

  it("an unversioned Provides does not satisfy a versioned dependency", async () => {
    const e = await unmet(["agent", "python3-full", "helper", "libssl-old"]);
    expect((e.details as Array<{ dependency: string }>).map((m) => m.dependency)).toEqual([
      "libssl3 (>= 3.0.0)",
    ]);
  });

  it("is satisfied by other packages of the source, versioned Provides, alternatives and earlier deb sources", async () => {
    const ctx = await debContext(tmp, { status: STATUS });
    const b = new TreeBuilder();
    await addDebSource(b, debSource({ packages: ["libssl3"], dir: "deps" }), ctx);
    const r = await addDebSource(
      b,
      debSource({ packages: ["agent", "python3-full", "helper"], dir: "deps" }),
      ctx,
    );
    expect(r.version).toBe("3.0-1");
    expect(b.has("usr/bin/agent")).toBe(true);
    expect(ctx.findings.some((f) => f.code === "deb-dependencies")).toBe(false);
  });

  it("skipDependencyCheck skips it; a base root without dpkg status gives a warning", async () => {
    await addDebSource(
      new TreeBuilder(),
      debSource({ packages: ["agent"], dir: "deps", skipDependencyCheck: true }),
      await debContext(tmp, { status: STATUS }),
    );
    const ctx = await debContext(tmp, {});
    await addDebSource(new TreeBuilder(), debSource({ packages: ["agent"], dir: "deps" }), ctx);
    expect(ctx.findings.find((f) => f.code === "deb-dependencies")?.severity).toBe("warning");
  });
});
