// A release of signed DDIs fetched by the real systemd-sysupdate 257 over HTTP, then read back by its systemd-dissect.
import { copyFile, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sysupdateFiles } from "../../src/manifest/sysupdate.js";
import { toolsRoot, type ToolsRoot } from "../helpers/chroot.js";
import { cli } from "../helpers/cli.js";
import { serveDirectories, type StaticServer } from "../helpers/http.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { selfSigned } from "../image/ddi/helpers.js";
import { genRsa } from "../payload/crau-helpers.js";

needRoot();
await needTools("unshare", "chroot", "debootstrap", "openssl", "mkfs.erofs");
const NAME = "oem-d";
const OS = "4081.2.0";
const ARCH = "x86-64";
const SU = "/usr/lib/systemd/systemd-sysupdate";

let dir: string;
let rel: string;
let server: StaticServer;
let root: ToolsRoot;
let rootHash: string;

describe("systemd-sysupdate 257 with a release of signed DDIs", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-sysupdate-ddi-"));
    server = await serveDirectories({ "/rel/": join(dir, "out", ARCH) });
    await mkdir(join(dir, "spec"));
    await writeFile(
      join(dir, "spec", "extension.yaml"),
      `name: ${NAME}\nmetadata:\n  version: "1.0"\nsources:\n  - type: file\n    path: usr/share/${NAME}/version\n    content: "${NAME} 1.0\\n"\n`,
    );
    await writeFile(join(dir, "os-release"), `ID=flatcar\nVERSION_ID=${OS}\n`);
    const [key, cert] = await selfSigned(dir, "verity", "oem signer", ["rsa:2048"]);
    const r = await cli([
      "release",
      "--extension",
      join(dir, "spec"),
      "--base",
      join(dir, "os-release"),
      "--arch",
      ARCH,
      "--format",
      "ddi",
      "--verity-key",
      key,
      "--verity-certificate",
      cert,
      "--key",
      genRsa(dir, "crau").priv,
      "--base-url",
      `${server.url}/omaha/`,
      "--sysupdate-url",
      `${server.url}/rel/`,
      "--out",
      join(dir, "out"),
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    rel = join(dir, "out", ARCH);
    const v = await cli([
      "verify",
      join(rel, `${NAME}-${OS}-1.0-${ARCH}.raw`),
      "--certificate",
      cert,
      "--json",
    ]);
    expect(v.exitCode, v.stdout).toBe(0);
    rootHash = (JSON.parse(v.stdout) as { rootHash: string }).rootHash;
    expect(rootHash).toMatch(/^[0-9a-f]{64}$/);
    root = await toolsRoot("trixie-tools");
    const host = (...p: string[]) => join(root.upper, ...p);
    await mkdir(host("usr/lib"), { recursive: true });
    await writeFile(host("usr/lib/os-release"), `ID=flatcar\nVERSION_ID=${OS}\n`);
    await mkdir(host("etc/extensions"), { recursive: true });
    // The extension's own transfer and its source drop-in, as the OS image ships them.
    const own = `/usr/lib/sysupdate.${NAME}.d/`;
    for (const f of sysupdateFiles(NAME, { verify: false, url: `${server.url}/rel/` }))
      for (const target of f.installAs)
        if (
          target.startsWith(own) &&
          !target.endsWith(".conf.d/source.conf") &&
          !target.endsWith(`${NAME}.conf`)
        ) {
          await mkdir(dirname(host(target)), { recursive: true });
          await copyFile(join(rel, f.file), host(target));
        }
  }, 600_000);
  afterAll(async () => {
    await root?.dispose();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("update fetches the DDI byte for byte, links it, and systemd-dissect 257 sees the signed verity partitions", async () => {
    const img = `${NAME}-${OS}-1.0-${ARCH}.raw`;
    const r = await root.run(
      `${SU} -C ${NAME} update && readlink /etc/extensions/${NAME}_${OS}_${ARCH}.raw && systemd-dissect --json=short /opt/extensions/${NAME}/${img}`,
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(server.log.join("\n")).toContain(`/rel/${img} 200`);
    expect(await readFile(join(root.upper, "opt/extensions", NAME, img))).toEqual(
      await readFile(join(rel, img)),
    );
    expect(await readlink(join(root.upper, "etc/extensions", `${NAME}_${OS}_${ARCH}.raw`))).toBe(
      `../../opt/extensions/${NAME}/${img}`,
    );
    const json = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
      mounts: Array<{ designator: string; verity: string | null; partition_uuid: string | null }>;
    };
    expect(json.mounts.map((m) => m.designator).sort()).toEqual(["root", "root-verity", "root-verity-sig"]);
    // Signed, and the partition UUIDs are the root hash's halves, as the specification derives them.
    const uuid = (h: string) =>
      `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    expect(json.mounts.find((m) => m.designator === "root")).toMatchObject({
      verity: "signed",
      partition_uuid: uuid(rootHash.slice(0, 32)),
    });
    expect(json.mounts.find((m) => m.designator === "root-verity")?.partition_uuid).toBe(
      uuid(rootHash.slice(32)),
    );
  });
});
