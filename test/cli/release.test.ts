// The release step from the command line: payload, release and verify, checked with sha256sum and openssl.
import { execa } from "execa";
import { appendFile, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/index.js";
import { cli, helloBuildArgs, helloReleaseArgs } from "../helpers/cli.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { genRsa } from "../payload/crau-helpers.js";

const arch = hostArch();
let dir: string;

beforeAll(async () => {
  needRoot();
  await needTools("mksquashfs", "unsquashfs", "openssl", "bzip2", "sha256sum", "systemd-sysext", "unshare");
  dir = await mkdtemp(join(tmpdir(), "sysextkit-release-cli-"));
  await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=3815.2.0\n");
  for (const k of ["throwaway", "real"]) genRsa(dir, k);
  // A stand-in main OS payload: any file; the manifest lists its size and hashes.
  await writeFile(join(dir, "flatcar_production_update.gz"), Buffer.alloc(10000, 7));
});

describe("sysextkit release / payload / verify", () => {
  it("publishes a release directory that sha256sum, an XML parser and verify all accept", async () => {
    const out = join(dir, "rel");
    const r = await cli(
      helloReleaseArgs(
        { dir, arch, keys: [join(dir, "throwaway.pem"), join(dir, "real.pem")], out },
        "--main-payload",
        join(dir, "flatcar_production_update.gz"),
        "--base-url",
        "https://updates.example.org/amd64-usr/3815.2.0/",
        "--json",
      ),
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const relDir = join(out, arch);
    const files = await readdir(relDir);
    expect(files).toEqual(
      expect.arrayContaining(["SHA256SUMS", "manifest.json", "hello.gz", "hello.gz.sha256"]),
    );
    const sums = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: relDir, reject: false });
    expect(sums.exitCode, sums.stdout + sums.stderr).toBe(0);

    const omahaName = files.find((f) => f.startsWith("omaha") && f.endsWith(".xml"));
    expect(omahaName).toBeDefined();
    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
      await readFile(join(relDir, omahaName!), "utf8"),
    ) as Record<string, unknown>;
    const text = JSON.stringify(xml);
    expect(text).toContain("hello.gz");
    const payload = await readFile(join(relDir, "hello.gz"));
    const { createHash } = await import("node:crypto");
    expect(text).toContain(createHash("sha256").update(payload).digest("hex"));
    expect(text).toContain(createHash("sha1").update(payload).digest("base64"));

    // Published as <name>-<OS VERSION_ID>-<extension version>-<arch>.raw; sysupdate on OS 3815.2.0 reads
    // the extension version from it. Installed under the link name sysupdate gives it
    // (<name>_<OS>_<arch>.raw), the image still merges with the real systemd-sysext 252.
    const versioned = files.find((f) => f.endsWith(`-${arch}.raw`));
    expect(versioned).toBe(`hello-3815.2.0-1.0.0-${arch}.raw`);
    const transfer = await readFile(join(relDir, "hello.transfer"), "utf8");
    const pattern = /MatchPattern=(.*)/.exec(transfer)![1]!;
    const rx = new RegExp(
      `^${pattern
        .replace(/[.+]/g, "\\$&")
        .replace("%w", "3815\\.2\\.0")
        .replace("@v", "([A-Za-z0-9._+-]+)")
        .replace("%a", arch)}$`,
    );
    expect(rx.exec(versioned!)?.[1]).toBe("1.0.0");
    const link = /CurrentSymlink=\/etc\/extensions\/(.*)/
      .exec(transfer)![1]!
      .replace("%w", "3815.2.0")
      .replace("%a", arch);
    expect(link).toBe(`hello_3815.2.0_${arch}.raw`);
    const m = await mergeInScratchRoot({
      images: [{ file: join(relDir, versioned!), as: link }],
      host: { osRelease: { ID: "testos", VERSION_ID: "3815.2.0" } },
      script: 'cat "$ROOT/usr/share/hello/motd"',
    });
    expect(m.mergeOutput).toContain("Merged extensions");
    expect(m.output).toContain("Hello from a sysext");

    const v = await cli(["verify", relDir, "--key", join(dir, "real.pub.pem")]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    // The throwaway key alone proves nothing: update_engine checks the real key's version-2 signature.
    const vp = await cli([
      "verify",
      join(relDir, "hello.gz"),
      "--key",
      join(dir, "throwaway.pub.pem"),
      "--json",
    ]);
    expect(vp.exitCode, vp.stdout).toBe(1);
    const both = await cli([
      "verify",
      join(relDir, "hello.gz"),
      "--key",
      join(dir, "throwaway.pub.pem"),
      "--key",
      join(dir, "real.pub.pem"),
    ]);
    expect(both.exitCode, both.stdout).toBe(0);

    // Tampering with a published file fails verification and names the file.
    await appendFile(join(relDir, "hello.gz"), "x");
    const bad = await cli(["verify", relDir, "--key", join(dir, "real.pub.pem")]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toContain("hello.gz");
  });

  it("payload: writes <name>.gz and .sha256; a missing key is a usage error", async () => {
    const b = await cli(helloBuildArgs({ base: join(dir, "os-release"), arch, out: join(dir, "img") }));
    expect(b.exitCode, b.stderr).toBe(0);
    const p = await cli([
      "payload",
      join(dir, "img/hello.raw"),
      "--key",
      join(dir, "real.pem"),
      "--out",
      join(dir, "pl"),
      "--json",
    ]);
    expect(p.exitCode, p.stderr).toBe(0);
    const sums = await execa("sha256sum", ["-c", "hello.gz.sha256"], { cwd: join(dir, "pl"), reject: false });
    expect(sums.exitCode, sums.stdout + sums.stderr).toBe(0);
    const v = await cli([
      "verify",
      join(dir, "pl/hello.gz"),
      "--key",
      join(dir, "real.pub.pem"),
      "--image",
      join(dir, "img/hello.raw"),
    ]);
    expect(v.exitCode, v.stdout).toBe(0);
    const wrong = await cli(["verify", join(dir, "pl/hello.gz"), "--key", join(dir, "throwaway.pub.pem")]);
    expect(wrong.exitCode).toBe(1);
    const nokey = await cli(["payload", join(dir, "img/hello.raw"), "--out", join(dir, "pl2")]);
    expect(nokey.exitCode).toBe(2);
  });
});
