// Release directories: sha256sum -c, Omaha/Nebraska agree with the files, sysupdate patterns, bad input.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  releaseManifestSchema,
  verifyRelease,
  writeRelease,
  type WriteReleaseOptions,
} from "../../src/manifest/index.js";
import { needTools } from "../helpers/tools.js";
import { genRsa, makeImage } from "../payload/crau-helpers.js";

await needTools("bzip2", "openssl", "sha256sum", "gzip");
let dir: string;
let opts: WriteReleaseOptions;
let key: { priv: string; pub: string };
const hashes = (f: string) => {
  const b = readFileSync(f);
  return {
    size: b.length,
    sha1: createHash("sha1").update(b).digest("base64"),
    sha256: createHash("sha256").update(b).digest("hex"),
  };
};

describe("writeRelease / verifyRelease", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "release-test-"));
    key = genRsa(dir, "key");
    makeImage(join(dir, "oem-a.raw"), 2, 1);
    makeImage(join(dir, "oem-b.raw"), 1, 2);
    writeFileSync(join(dir, "flatcar_production_update.gz"), "main OS payload stand-in\n");
    const release = { ID: "flatcar", VERSION_ID: "3815.2.0", ARCHITECTURE: "x86-64" };
    opts = {
      outDir: join(dir, "rel"),
      base: { id: "flatcar", versionId: "3815.2.0" },
      extensions: [
        { name: "oem-b", arch: "x86-64", image: join(dir, "oem-b.raw"), release, nonStrictName: false },
        {
          name: "oem-a",
          arch: "x86-64",
          image: join(dir, "oem-a.raw"),
          release,
          sysextVersionId: "1.2",
          nonStrictName: true,
        },
      ],
      keys: [key.priv],
      mainPayload: { file: join(dir, "flatcar_production_update.gz") },
      baseUrl: "https://example.org/amd64-usr/3815.2.0/",
      compressed: ["gz"],
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("publishes a release that sha256sum -c, XML/JSON parsers and verifyRelease accept", async () => {
    const r = await writeRelease(opts);
    const rel = opts.outDir;
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["sysupdate-strict-name", "warning"]]);
    expect(readdirSync(rel).sort()).toEqual(r.files);
    execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: rel, stdio: "pipe" });
    const sums = readFileSync(join(rel, "SHA256SUMS"), "utf8");
    expect(sums.endsWith("\n")).toBe(true);
    const names = sums
      .trimEnd()
      .split("\n")
      .map((l) => l.slice(66));
    expect(names).toEqual([...names].sort());
    // Published names carry the OS VERSION_ID and the extension version (SYSEXT_VERSION_ID, else the release version).
    expect(names).toEqual(
      expect.arrayContaining([
        "oem-a-3815.2.0-1.2-x86-64.raw",
        "oem-a_3815.2.0_x86-64.raw",
        "oem-b-3815.2.0-3815.2.0-x86-64.raw",
        "oem-b_3815.2.0_x86-64.raw",
        "oem-a.transfer",
        "oem-a.conf",
        "oem-a.feature",
        "oem-a-stage.transfer",
        "oem-a-stage.conf",
        "oem-a.source.conf",
      ]),
    );
    expect(readFileSync(join(rel, "oem-a_3815.2.0_x86-64.raw"))).toEqual(
      readFileSync(join(rel, "oem-a-3815.2.0-1.2-x86-64.raw")),
    );

    const m = releaseManifestSchema.parse(JSON.parse(readFileSync(join(rel, "manifest.json"), "utf8")));
    expect(m.extensions.map((e) => e.name)).toEqual(["oem-a", "oem-b"]);
    expect(m.extensions[0]!.payloads.map((p) => p.file)).toEqual([
      "oem-a.gz",
      "oem-a-3815.2.0-1.2-x86-64.raw.gz",
    ]);

    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse(
      readFileSync(join(rel, "omaha.xml"), "utf8"),
    );
    expect(xml.manifest["@version"]).toBe("3815.2.0");
    const pkgs = xml.manifest.packages.package as Array<Record<string, string>>;
    expect(pkgs.map((p) => [p["@name"], p["@required"]])).toEqual([
      ["flatcar_production_update.gz", "true"],
      ["oem-a.gz", "false"],
      ["oem-b.gz", "false"],
    ]);
    const main = hashes(join(dir, "flatcar_production_update.gz"));
    expect(pkgs[0]).toMatchObject({ "@hash": main.sha1, "@size": String(main.size) });
    for (const p of pkgs.slice(1)) {
      const h = hashes(join(rel, p["@name"]!));
      expect(p).toMatchObject({ "@hash": h.sha1, "@hash_sha256": h.sha256, "@size": String(h.size) });
    }
    const action = xml.manifest.actions.action;
    expect(action["@event"]).toBe("postinstall");
    expect(action["@sha256"]).toBe(Buffer.from(main.sha256, "hex").toString("base64"));

    const neb = JSON.parse(readFileSync(join(rel, "nebraska-package.json"), "utf8"));
    expect(neb).toMatchObject({
      filename: "flatcar_production_update.gz",
      hash256: main.sha256,
      url: opts.baseUrl,
    });
    const a = hashes(join(rel, "oem-a.gz"));
    expect(neb.extra_files[0]).toEqual({
      name: "oem-a.gz",
      size: String(a.size),
      hash: a.sha1,
      hash256: a.sha256,
    });

    // The transfer of the extension's own component: no host in it, Verify=false without a gpg key.
    const transfer = readFileSync(join(rel, "oem-a.transfer"), "utf8");
    expect(transfer).toMatch(/^Verify=false$/m);
    expect(transfer).not.toMatch(/^Path=http/m);
    expect(transfer).toMatch(/^CurrentSymlink=\/etc\/extensions\/oem-a_%w_%a\.raw$/m);
    expect(readFileSync(join(rel, "oem-a.conf"), "utf8").replace(/oem-a\.conf/g, "oem-a.transfer")).toBe(
      transfer,
    );
    expect(readFileSync(join(rel, "oem-a.source.conf"), "utf8")).toMatch(
      /^\[Source\]\nPath=https:\/\/example\.org\/amd64-usr\/3815\.2\.0\/$/m,
    );
    const pattern = /^MatchPattern=(.*)$/m.exec(transfer)![1]!;
    expect(pattern).toBe("oem-a-%w-@v-%a.raw");
    expect(/^Features=oem-a$/m.test(readFileSync(join(rel, "oem-a-stage.transfer"), "utf8"))).toBe(true);

    const v = await verifyRelease(rel, { publicKeys: [key.pub] });
    expect(v.failures).toEqual([]);
    expect(v.ok).toBe(true);
  });

  it("is deterministic and re-running the same release is allowed", async () => {
    const before = readFileSync(join(opts.outDir, "manifest.json"));
    const gz = readFileSync(join(opts.outDir, "oem-a.gz"));
    await writeRelease(opts);
    expect(readFileSync(join(opts.outDir, "manifest.json")).equals(before)).toBe(true);
    expect(readFileSync(join(opts.outDir, "oem-a.gz")).equals(gz)).toBe(true);
  });

  it("verifyRelease names a tampered payload and a stale SHA256SUMS", async () => {
    const copy = join(dir, "tampered");
    execFileSync("cp", ["-a", opts.outDir, copy]);
    const f = join(copy, "oem-b.gz");
    const b = readFileSync(f);
    b[b.length - 300] = b[b.length - 300]! ^ 0xff;
    writeFileSync(f, b);
    const v = await verifyRelease(copy, { publicKeys: [key.pub] });
    expect(v.ok).toBe(false);
    expect(v.failures.some((x) => x.startsWith("oem-b.gz: sha256"))).toBe(true);
    expect(v.failures.some((x) => /^oem-b\.gz: the version-2 signature .* does not verify/.test(x))).toBe(
      true,
    );
  });

  it("verifyRelease names a missing image, an unlisted manifest and a wrong Nebraska main package", async () => {
    const copy = join(dir, "damaged");
    execFileSync("cp", ["-a", opts.outDir, copy]);
    rmSync(join(copy, "oem-a-3815.2.0-1.2-x86-64.raw"));
    const sums = readFileSync(join(copy, "SHA256SUMS"), "utf8")
      .split("\n")
      .filter((l) => !l.endsWith("  nebraska-package.json") && !l.endsWith("  oem-a-3815.2.0-1.2-x86-64.raw"))
      .join("\n");
    writeFileSync(join(copy, "SHA256SUMS"), sums);
    const neb = JSON.parse(readFileSync(join(copy, "nebraska-package.json"), "utf8"));
    writeFileSync(join(copy, "nebraska-package.json"), JSON.stringify({ ...neb, filename: "other.gz" }));
    const v = await verifyRelease(copy, { publicKeys: [key.pub] });
    expect(v.ok).toBe(false);
    expect(v.failures).toEqual(
      expect.arrayContaining([
        "oem-a-3815.2.0-1.2-x86-64.raw: named by manifest.json but missing",
        "SHA256SUMS: does not list nebraska-package.json",
        "SHA256SUMS: does not list oem-a-3815.2.0-1.2-x86-64.raw",
        expect.stringMatching(/^nebraska-package\.json: differs from what manifest\.json implies \(line 1: /),
      ]),
    );
    expect(v.failures.some((f) => f.startsWith("oem-a.gz: cannot compare with"))).toBe(true);
  });

  it("refuses more than three signing keys before writing anything", async () => {
    const out = join(dir, "fourkeys");
    await expect(
      writeRelease({ ...opts, outDir: out, keys: [key.priv, key.priv, key.priv, key.priv] }),
    ).rejects.toMatchObject({ code: "USAGE" });
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a missing main payload and a different release in outDir, writing nothing", async () => {
    const out1 = join(dir, "nomain");
    await expect(
      writeRelease({ ...opts, outDir: out1, mainPayload: { file: join(dir, "absent.gz") } }),
    ).rejects.toMatchObject({ code: "RELEASE_INVALID" });
    expect(existsSync(out1)).toBe(false);

    const before = readFileSync(join(opts.outDir, "manifest.json"));
    const listing = readdirSync(opts.outDir).sort();
    await expect(writeRelease({ ...opts, version: "3815.2.1" })).rejects.toMatchObject({
      code: "OUTPUT_EXISTS",
    });
    expect(readFileSync(join(opts.outDir, "manifest.json")).equals(before)).toBe(true);
    expect(readdirSync(opts.outDir).sort()).toEqual(listing);
  });

  it("refuses an image not a multiple of 4096 and multiple architectures before writing", async () => {
    writeFileSync(join(dir, "odd.raw"), Buffer.alloc(4097));
    const out = join(dir, "bad");
    mkdirSync(out);
    const ext = opts.extensions[0]!;
    await expect(
      writeRelease({ ...opts, outDir: out, extensions: [{ ...ext, image: join(dir, "odd.raw") }] }),
    ).rejects.toMatchObject({ code: "PAYLOAD_INVALID" });
    await expect(
      writeRelease({ ...opts, outDir: out, extensions: [ext, { ...opts.extensions[1]!, arch: "arm64" }] }),
    ).rejects.toMatchObject({ code: "RELEASE_INVALID" });
    expect(readdirSync(out)).toEqual([]);
  });
});
