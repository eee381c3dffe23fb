// examples/container: the Containerfile's RUN lines run in a throwaway Debian 12 root standing in for
// node:20-bookworm-slim (a debootstrap minbase root with this machine's node and npm in /usr/local), npm
// installing sysextkit from a registry on 127.0.0.1 that serves the packed tarball; then the image's
// ENTRYPOINT + CMD run there against examples/container/release.yaml, and the release is verified outside.
import { execa } from "execa";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRoot } from "../../scripts/roots.js";
import { cli, REPO } from "../helpers/cli.js";
import { readContainerfile } from "../helpers/containerfile.js";
import { startLocalRegistry, type LocalRegistry } from "../helpers/npm-registry.js";
import { packedTarball } from "../helpers/pack.js";
import { needRoot, needTools } from "../helpers/tools.js";

let work: string;
let root: string;
let registry: LocalRegistry;

/** Run `argv` inside the root (own mount namespace with /proc), in `cwd`, with `env`. */
function inRoot(argv: string[], cwd: string, env: Record<string, string>) {
  const script = 'mount -t proc proc "$R/proc" && exec chroot "$R" /bin/sh -c \'cd "$0" && exec "$@"\' "$@"';
  return execa("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", cwd, ...argv], {
    env: { ...env, R: root },
    extendEnv: false,
    reject: false,
    all: true,
  });
}

beforeAll(async () => {
  needRoot();
  await needTools("debootstrap", "chroot", "unshare", "openssl");
  work = await mkdtemp(join(tmpdir(), "sysextkit-container-"));
  registry = await startLocalRegistry(await packedTarball());
  // FROM node:20-bookworm-slim: Debian 12 minbase plus node and npm under /usr/local.
  root = join(work, "root");
  await execa("cp", ["-a", await ensureRoot("bookworm-slim"), root]);
  await cp(process.execPath, join(root, "usr/local/bin/node"));
  await cp("/usr/lib/node_modules/npm", join(root, "usr/local/lib/node_modules/npm"), { recursive: true });
  await symlink("../lib/node_modules/npm/bin/npm-cli.js", join(root, "usr/local/bin/npm"));
  await cp("/etc/resolv.conf", join(root, "etc/resolv.conf"));
}, 900_000);
afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("examples/container/Containerfile", () => {
  it("its RUN lines install sysextkit, and its command publishes a release that verifies", async () => {
    const cf = await readContainerfile(join(REPO, "examples/container/Containerfile"));
    expect(cf.from).toBe("docker.io/library/node:20-bookworm-slim");
    const env: Record<string, string> = {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: "/root",
      DEBIAN_FRONTEND: "noninteractive",
      // The registry stand-in (the one difference from a real build, which uses registry.npmjs.org).
      npm_config_registry: registry.url,
    };
    let cwd = "/";
    for (const step of cf.steps) {
      if (step.kind === "arg" || step.kind === "env") env[step.name] = step.value;
      else if (step.kind === "workdir") {
        cwd = step.dir;
        await mkdir(join(root, cwd), { recursive: true });
      } else if (step.kind === "run") {
        const r = await inRoot(["/bin/sh", "-c", step.command], cwd, env);
        expect(r.exitCode, `RUN ${step.command}\n${String(r.all).slice(-3000)}`).toBe(0);
      }
    }
    // docker run -v release:/work -v key.pem:/run/secrets/sysext-signing-key
    for (const f of ["release.yaml", "os-release"])
      await cp(join(REPO, "examples/container", f), join(root, cwd, f));
    await mkdir(join(root, "run/secrets"), { recursive: true });
    await execa("openssl", [
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      join(root, "run/secrets/sysext-signing-key"),
    ]);
    await execa("openssl", [
      "pkey",
      "-in",
      join(root, "run/secrets/sysext-signing-key"),
      "-pubout",
      "-out",
      join(work, "pub.pem"),
    ]);
    const run = await inRoot([...cf.entrypoint, ...cf.cmd], cwd, env);
    expect(run.exitCode, String(run.all)).toBe(0);

    const out = join(root, cwd, "out");
    expect((await readdir(out)).sort()).toEqual(["arm64", "x86-64"]);
    for (const arch of ["x86-64", "arm64"]) {
      const manifest = JSON.parse(await readFile(join(out, arch, "manifest.json"), "utf8")) as {
        extensions: Array<{ name: string; release: Record<string, string> }>;
      };
      expect(manifest.extensions.map((e) => e.name)).toEqual(["oem-openstack", "oem-qemu"]);
      expect(manifest.extensions[0]!.release).toMatchObject({
        ID: "flatcar",
        VERSION_ID: "3815.2.0",
        ARCHITECTURE: arch,
      });
      const v = await cli(["verify", join(out, arch), "--key", join(work, "pub.pem")]);
      expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    }
  }, 1_800_000);
});
