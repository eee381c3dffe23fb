// rpmvercmp against the real rpm, and Requires checked against a base root with a real rpm database (rpm --initdb, --justdb).
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase } from "../../src/base/base.js";
import { findMissingRequires, formatDep, ProvideIndex } from "../../src/tree/rpm/depends.js";
import { readRpmPackage, type RpmPackage } from "../../src/tree/rpm/package.js";
import { readRpmdb } from "../../src/tree/rpm/rpmdb.js";
import { compareEvr, parseEvr, rangesOverlap, rpmvercmp, SENSE } from "../../src/tree/rpm/vercmp.js";
import type { SourceContext } from "../../src/tree/sources/context.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { rejection } from "../helpers/errors.js";
import { buildRpm, makeRpmBase, rpmdbArgs } from "../helpers/rpm.js";
import { needTools } from "../helpers/tools.js";
import { addRaw } from "./source-context.js";

let tmp: string;
await needTools("rpmbuild", "rpm");

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-rpmdeps-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const SEGMENTS = [
  "1",
  "1.0",
  "1.0.0",
  "2",
  "10",
  "1a",
  "1.a",
  "a",
  "b",
  "1~rc1",
  "1~~",
  "1^git1",
  "1.0^",
  "1_0",
  "001",
  "1.01",
  "1.001",
  "1+2",
  "alpha",
  "1.0a",
  "1.0.a",
  "1..0",
  "~",
  "^",
  "1.0~rc1^git",
  "2.0~beta",
  "5.4.18",
  "20230601.00",
  "2:1.0",
];

/** At least 100 pairs: every ordered pair of a varied set of versions, and some hand-picked ones. */
function pairs(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < SEGMENTS.length; i++)
    for (let j = i; j < SEGMENTS.length; j += 3) out.push([SEGMENTS[i]!, SEGMENTS[j]!]);
  out.push(
    ["1.0", "1.0"],
    ["fc40", "fc39"],
    ["el9_2", "el9"],
    ["1.0-1", "1.0-1.1"],
    ["12.3.5", "12.3.05"],
    ["0.1", "0.01"],
    ["1:1.0-1", "2.0-1"],
    ["0:1.0-1", "1.0-1"],
    ["1.0-1", "1.0"],
    ["3:12.3.5-1.fc40", "3:12.3.5-2.fc40"],
    ["1.0~rc1-1", "1.0-1"],
    ["2.9.0^20230601git1-1", "2.9.0-1"],
  );
  return out;
}

describe("rpm versions and dependencies", () => {
  // rpm.vercmp (lua) compares whole [epoch:]version[-release] strings, as compareEvr does; for plain
  // versions that is rpmvercmp itself.
  it("rpmvercmp and EVR comparison agree with the real rpm's rpm.vercmp on more than 100 pairs", async () => {
    const list = pairs();
    expect(list.length).toBeGreaterThanOrEqual(100);
    const lua = list
      .map(([a, b]) => `print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}) .. ",")`)
      .join(" ");
    const { stdout } = await execa("rpm", ["--eval", `%{lua: ${lua}}`]);
    const theirs = String(stdout).trim().replace(/,$/, "").split(",").map(Number);
    expect(theirs).toHaveLength(list.length);
    const ours = list.map(([a, b]) =>
      a.includes(":") || b.includes(":") || a.includes("-") || b.includes("-")
        ? compareEvr(parseEvr(a), parseEvr(b))
        : rpmvercmp(a, b),
    );
    const diffs = list.flatMap(([a, b], i) =>
      ours[i] === theirs[i] ? [] : [`${a} vs ${b}: ours ${ours[i]}, rpm ${theirs[i]}`],
    );
    expect(diffs).toEqual([]);
    expect(ours).toEqual(theirs);
  });

  it("compares epochs and releases like rpm (and dependency ranges like rpmverOverlap)", () => {
    expect(compareEvr(parseEvr("1:1.0-1"), parseEvr("2.0-1"))).toBe(1);
    expect(compareEvr(parseEvr("1.0"), parseEvr("1.0-5"))).toBe(-1);
    // In dependencies a missing release matches any release.
    expect(rangesOverlap(SENSE.EQUAL, "1.0-5", SENSE.EQUAL, "1.0")).toBe(true);
    expect(rangesOverlap(SENSE.EQUAL, "1.0-5", SENSE.LESS, "1.0")).toBe(false);
    expect(rangesOverlap(SENSE.EQUAL, "2:0.5-1", SENSE.GREATER | SENSE.EQUAL, "1:3.0")).toBe(true);
    expect(compareEvr(parseEvr("0:1.0-1"), parseEvr("1.0-1"))).toBe(0);
    expect(compareEvr(parseEvr("1.0~rc1-1"), parseEvr("1.0-1"))).toBe(-1);
  });

  describe("against a base root with a real rpm database", () => {
    let baseRoot: string;
    let basePkgs: string[];
    let ext: string[];

    beforeAll(async () => {
      const repo = join(tmp, "repo");
      basePkgs = [
        await buildRpm(
          {
            name: "bash",
            version: "5.2.26",
            release: "3.fc40",
            provides: ["/bin/sh"],
            files: { "/usr/bin/bash": { content: "x", mode: 0o755 } },
            symlinks: { "/usr/bin/sh": "bash" },
          },
          repo,
        ),
        await buildRpm(
          {
            name: "glibc",
            version: "2.39",
            release: "5.fc40",
            provides: ["libc.so.6()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)"],
            files: { "/usr/lib64/libc.so.6": "x" },
          },
          repo,
        ),
        await buildRpm(
          {
            name: "openssl-libs",
            version: "3.2.1",
            release: "2.fc40",
            epoch: 1,
            provides: ["libssl.so.3()(64bit)"],
            files: { "/usr/lib64/libssl.so.3": "x" },
          },
          repo,
        ),
        await buildRpm(
          { name: "python3", version: "3.12.2", release: "2.fc40", files: { "/usr/bin/python3": "x" } },
          repo,
        ),
      ];
      baseRoot = join(tmp, "base");
      await makeRpmBase(baseRoot, basePkgs);
      ext = [
        // Met: versioned (epoch), file dependency owned by a base package, a provide, an rpmlib feature, a rich dependency.
        await buildRpm(
          {
            name: "agent-ok",
            version: "1.0",
            requires: [
              "/bin/sh",
              "/usr/bin/python3",
              "openssl-libs >= 1:3.0",
              "libc.so.6(GLIBC_2.34)(64bit)",
              "(python3 or python3.12)",
              "agent-helper = 2.0-1",
              "rpmlib(RichDependencies) <= 4.12.0-1",
            ],
            files: { "/usr/bin/agent-ok": "x" },
          },
          join(tmp, "ok"),
        ),
        await buildRpm(
          { name: "agent-helper", version: "2.0", files: { "/usr/libexec/helper": "x" } },
          join(tmp, "ok"),
        ),
        // Unmet: three at once.
        await buildRpm(
          {
            name: "agent-bad",
            version: "1.0",
            requires: ["openssl-libs >= 1:3.3", "libfoo.so.1()(64bit)", "/usr/bin/perl", "glibc >= 2.39"],
            files: { "/usr/bin/agent-bad": "x" },
          },
          join(tmp, "bad"),
        ),
      ];
    });

    it("reads the base's rpmdb.sqlite with sql.js: the same packages rpm -qa lists", async () => {
      const db = await readRpmdb(baseRoot);
      expect(db.kind).toBe("sqlite");
      const ours = (db as { packages: RpmPackage[] }).packages
        .map((p) => `${p.name}-${p.version}-${p.release}.${p.arch}`)
        .sort();
      const { stdout } = await execa("rpm", [
        ...rpmdbArgs(baseRoot),
        "-qa",
        "--qf",
        "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n",
      ]);
      expect(ours).toEqual(String(stdout).trim().split("\n").sort());
    });

    it("finds the database under var/lib/rpm as well", async () => {
      const old = join(tmp, "old-base");
      await makeRpmBase(old, basePkgs.slice(0, 1), "ID=centos\nVERSION_ID=8\n", "/var/lib/rpm");
      const db = await readRpmdb(old);
      expect(db.kind === "sqlite" && db.file).toBe(join(old, "var/lib/rpm/rpmdb.sqlite"));
    });

    it("met Requires pass; unmet ones fail with one error listing all of them", async () => {
      const base = await readBase({ path: baseRoot, arch: "x86-64" });
      const ctx = (findings = []): SourceContext => ({
        specDir: tmp,
        templatesDir: tmp,
        vars: {},
        base,
        arch: "x86-64",
        workDir: join(tmp, "work"),
        epoch: 0,
        findings,
      });
      const ok = ctx();
      await addRaw(new TreeBuilder(), { type: "rpm", packages: [ext[0], ext[1]] }, ok);
      expect(ok.findings.filter((f) => f.code === "rpm-dependencies")).toEqual([]);

      const e = await rejection(
        addRaw(new TreeBuilder(), { type: "rpm", packages: [ext[2]] }, ctx()),
        "PACKAGE_DEPENDS",
      );
      expect(e.message).toMatch(/^3 requirements are satisfied neither by the base/);
      expect(e.message).toContain("agent-bad-1.0-1.x86_64: Requires openssl-libs >= 1:3.3");
      expect(e.message).toContain("Requires libfoo.so.1()(64bit)");
      expect(e.message).toContain("Requires /usr/bin/perl");
      expect(e.message).not.toContain("glibc");
      expect(e.message).toContain("rpmdb.sqlite");
    });

    it("agrees with rpm --root -q --whatprovides and rpm -i --test on every requirement", async () => {
      const db = await readRpmdb(baseRoot);
      const index = new ProvideIndex();
      for (const p of (db as { packages: RpmPackage[] }).packages) index.add(p, "base");
      for (const file of ext) {
        const p = await readRpmPackage(file);
        const ours = findMissingRequires([p], index).map((m) => m.requires);
        // rpm 4.18's --whatprovides takes names only: ask it about every unversioned requirement.
        for (const d of p.requires) {
          if (
            d.evr !== "" ||
            d.name.startsWith("(") ||
            d.name.startsWith("rpmlib(") ||
            d.name === "agent-helper"
          )
            continue;
          const r = await execa("rpm", [...rpmdbArgs(baseRoot), "-q", "--whatprovides", d.name], {
            reject: false,
          });
          expect(ours.includes(formatDep(d)), `${d.name}: rpm says ${String(r.stdout)}`).toBe(
            r.exitCode !== 0,
          );
        }
        // rpm's own dependency check of an installation into the base, for versioned ones too.
        const t = await execa("rpm", [...rpmdbArgs(baseRoot), "-i", "--test", "--ignorearch", file], {
          reject: false,
          all: true,
        });
        const theirs = [...String(t.all).matchAll(/^\s+(.+) is needed by /gm)].map((m) => m[1]!);
        expect(ours.filter((r) => r !== "agent-helper = 2.0-1").sort(), String(t.all)).toEqual(
          theirs.filter((r) => r !== "agent-helper = 2.0-1").sort(),
        );
      }
    });
  });
});
