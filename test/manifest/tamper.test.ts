// Release-directory tampering: every entry must be accounted for by manifest.json, every generated file must equal its rendering.
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyRelease, writeRelease } from "../../src/manifest/index.js";
import { needTools } from "../helpers/tools.js";
import { genRsa, makeImage } from "../payload/crau-helpers.js";

await needTools("bzip2", "openssl");
let dir: string;
let rel: string;
let keys: { throwaway: { priv: string; pub: string }; real: { priv: string; pub: string } };
let n = 0;

/** A fresh copy of the good release, changed by `change`, then verified with the real key. */
async function tampered(change: (copy: string) => void) {
  const copy = join(dir, `copy-${n++}`);
  execFileSync("cp", ["-a", rel, copy]);
  change(copy);
  return verifyRelease(copy, { publicKeys: [keys.throwaway.pub, keys.real.pub] });
}

describe("verify RELEASE_DIR reports release tampering", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tamper-test-"));
    keys = { throwaway: genRsa(dir, "throwaway"), real: genRsa(dir, "real") };
    makeImage(join(dir, "oem-a.raw"), 1, 3);
    rel = join(dir, "rel");
    await writeRelease({
      outDir: rel,
      base: { id: "flatcar", versionId: "3815.2.0" },
      extensions: [
        {
          name: "oem-a",
          arch: "x86-64",
          image: join(dir, "oem-a.raw"),
          release: { ID: "flatcar", VERSION_ID: "3815.2.0", ARCHITECTURE: "x86-64" },
          nonStrictName: true,
        },
      ],
      keys: [keys.throwaway.priv, keys.real.priv],
      baseUrl: "https://updates.example.org/amd64-usr/3815.2.0/",
    });
    const v = await verifyRelease(rel, { publicKeys: [keys.throwaway.pub, keys.real.pub] });
    expect(v.failures).toEqual([]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("an extra file in the release directory is reported (unlisted extra file)", async () => {
    const v = await tampered((c) => writeFileSync(join(c, "README.txt"), "hello\n"));
    expect(v.ok).toBe(false);
    expect(v.failures).toEqual(["README.txt: a file not listed in manifest.json (not part of this release)"]);
  });

  it("an extra payload-like file evil-<name>.gz, which clients' *<name>.gz glob would pick, is reported", async () => {
    const v = await tampered((c) =>
      writeFileSync(join(c, "evil-oem-a.gz"), readFileSync(join(c, "oem-a.gz"))),
    );
    expect(v.failures).toEqual([
      "evil-oem-a.gz: a file not listed in manifest.json whose name matches clients' payload glob *oem-a.gz",
    ]);
  });

  it("a hidden file, a sub-directory and a symbolic link are reported", async () => {
    const v = await tampered((c) => {
      writeFileSync(join(c, ".hidden"), "x");
      mkdirSync(join(c, "sub"));
      writeFileSync(join(c, "sub", "oem-a.gz"), "x");
      symlinkSync("oem-a.gz", join(c, "link-oem-a.gz"));
    });
    expect(v.failures).toEqual([
      ".hidden: a hidden file not listed in manifest.json (not part of this release)",
      "link-oem-a.gz: a symbolic link not listed in manifest.json whose name matches clients' payload glob *oem-a.gz",
      "sub: a directory not listed in manifest.json (not part of this release)",
    ]);
  });

  it("a published file replaced by a link or a directory is reported", async () => {
    const v = await tampered((c) => {
      rmSync(join(c, "oem-a.conf"));
      symlinkSync("/etc/passwd", join(c, "oem-a.conf"));
    });
    expect(v.failures).toContain("oem-a.conf: is a symbolic link, not a regular file");
  });

  it("a sysupdate .conf whose Path= no longer matches the manifest's base URL is reported", async () => {
    const v = await tampered((c) => {
      const f = join(c, "oem-a.source.conf");
      writeFileSync(
        f,
        readFileSync(f, "utf8").replace("https://updates.example.org/", "https://evil.example/"),
      );
    });
    expect(v.failures).toEqual([
      expect.stringMatching(
        /^oem-a\.source\.conf: differs from what manifest\.json implies \(line \d+: "Path=https:\/\/evil\.example\/amd64-usr\/3815\.2\.0\/", expected "Path=https:\/\/updates\.example\.org\/amd64-usr\/3815\.2\.0\/"\)$/,
      ),
    ]);
  });

  it("#9's files: the OS-keyed image, a transfer's pattern, the feature and a stray SHA256SUMS.gpg are reported", async () => {
    const v = await tampered((c) => {
      // A hard link of the published image: replaced, not written through.
      rmSync(join(c, "oem-a_3815.2.0_x86-64.raw"));
      writeFileSync(
        join(c, "oem-a_3815.2.0_x86-64.raw"),
        readFileSync(join(dir, "oem-a.raw")).subarray(4096),
      );
      const t = join(c, "oem-a.transfer");
      writeFileSync(
        t,
        readFileSync(t, "utf8").replace(/^MatchPattern=oem-a-%w-@v-%a\.raw$/m, "MatchPattern=@v"),
      );
      appendFileSync(join(c, "oem-a.feature"), "Enabled=true\n");
      writeFileSync(join(c, "SHA256SUMS.gpg"), "not a signature");
    });
    expect(v.failures).toEqual([
      "SHA256SUMS.gpg: a file not listed in manifest.json (not part of this release)",
      expect.stringMatching(/^oem-a_3815\.2\.0_x86-64\.raw: size \d+, manifest\.json says \d+$/),
      expect.stringMatching(/^oem-a_3815\.2\.0_x86-64\.raw: sha256 [0-9a-f]{64}, manifest\.json says /),
      expect.stringMatching(/^oem-a\.transfer: differs .* expected "MatchPattern=oem-a-%w-@v-%a\.raw"\)$/),
      expect.stringMatching(/^oem-a\.feature: differs .* "Enabled=true", expected "\(end of file\)"\)$/),
    ]);
  });

  it("any change to a generated file (Omaha, Nebraska, checksums) is reported, naming the line", async () => {
    const v = await tampered((c) => {
      appendFileSync(join(c, "omaha-packages.xml"), "<!-- x -->\n");
      const neb = join(c, "nebraska-package.json");
      writeFileSync(neb, readFileSync(neb, "utf8").replace(/"size": "\d+"/, '"size": "1"'));
      writeFileSync(join(c, "oem-a.gz.sha256"), `${"0".repeat(64)}  oem-a.gz\n`);
    });
    expect(v.failures).toEqual([
      expect.stringMatching(/^oem-a\.gz\.sha256: differs from what manifest\.json implies \(line 1: /),
      expect.stringMatching(
        /^omaha-packages\.xml: differs .* \(line \d+: "<!-- x -->", expected "\(end of file\)"\)$/,
      ),
      expect.stringMatching(
        /^nebraska-package\.json: differs .* \(line 5: .*"size.*"1.*, expected .*"size.*"876/,
      ),
    ]);
  });

  it("a release without manifest.json (it is written last) is incomplete", async () => {
    const v = await tampered((c) => rmSync(join(c, "manifest.json")));
    expect(v.failures).toEqual([
      expect.stringMatching(/^incomplete: no manifest\.json \(it is written last; \d+ other file/),
    ]);
  });

  it("an edited manifest.json that still parses is reported through every file it no longer matches", async () => {
    const v = await tampered((c) => {
      const f = join(c, "manifest.json");
      writeFileSync(f, readFileSync(f, "utf8").replace('"version": "3815.2.0"', '"version": "9999.0.0"'));
    });
    expect(v.ok).toBe(false);
    expect(v.failures).toEqual([
      expect.stringMatching(/^SHA256SUMS: differs from what manifest\.json implies/),
      expect.stringMatching(
        /^SHA256SUMS: manifest\.json listed with sha256 [0-9a-f]{64}, expected [0-9a-f]{64}$/,
      ),
    ]);
  });
});
