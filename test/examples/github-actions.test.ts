// examples/github-actions: the workflow's steps run locally, in order, in a copy of a derived-image repository:
// sysextkit installed with npm (from a registry on 127.0.0.1 serving the packed tarball), Debian 12 packages
// fetched for amd64 and arm64 (cached in the shared cache), the catalog released for both architectures with a
// key from the "secret", verified with the public key; the uploaded directory is then checked independently.
import { execa } from "execa";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCacheDir } from "../../src/util/cache.js";
import { REPO } from "../helpers/cli.js";
import { startLocalRegistry, type LocalRegistry } from "../helpers/npm-registry.js";
import { packedTarball } from "../helpers/pack.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { readWorkflow, runnerShims, runStep, type WorkflowStep } from "../helpers/workflow.js";

const CATALOG = ["oem-ami", "oem-azure", "oem-gce", "oem-openstack", "oem-qemu", "oem-vmware"];
let work: string;
let registry: LocalRegistry;

beforeAll(async () => {
  needRoot();
  await needTools("mksquashfs", "unsquashfs", "bzip2", "zstd", "openssl", "apt-get", "sha256sum");
  work = await mkdtemp(join(tmpdir(), "sysextkit-gha-"));
  registry = await startLocalRegistry(await packedTarball());
}, 600_000);
afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("examples/github-actions/sysext-release.yml", () => {
  it("its steps build, sign, verify and publish the catalog for x86-64 and arm64", async () => {
    const wf = await readWorkflow(join(REPO, "examples/github-actions/sysext-release.yml"));
    const steps = Object.values(wf.jobs)[0]!.steps;
    // The repository the workflow runs in: examples/github-actions copied as the README says.
    const workspace = join(work, "repo");
    await cp(join(REPO, "examples/github-actions"), join(workspace, "examples/github-actions"), {
      recursive: true,
    });
    await execa("openssl", [
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      join(work, "key.pem"),
    ]);
    await execa("openssl", [
      "pkey",
      "-in",
      join(work, "key.pem"),
      "-pubout",
      "-out",
      join(workspace, "examples/github-actions/keys/signing.pub.pem"),
    ]);
    const secret = await readFile(join(work, "key.pem"), "utf8");
    const runnerTemp = join(work, "runner-temp");
    const prefix = join(work, "npm-global");
    await mkdir(runnerTemp);
    const expressions = {
      "github.workspace": workspace,
      "secrets.SYSEXT_SIGNING_KEY": secret,
      "hashFiles('examples/github-actions/release.yaml')": "x",
    };
    const workflowEnv = Object.fromEntries(
      Object.entries(wf.env ?? {}).map(([k, v]) => [
        k,
        String(v).replace(/\$\{\{\s*github\.workspace\s*\}\}/g, workspace),
      ]),
    );
    const env: Record<string, string> = {
      ...workflowEnv,
      // The one deviation: downloaded packages go to the shared cache, so runs after the first fetch nothing.
      SYSEXTKIT_CACHE: defaultCacheDir(),
      RUNNER_TEMP: runnerTemp,
      HOME: join(work, "home"),
      PATH: `${await runnerShims(join(work, "shims"))}:${join(prefix, "bin")}:${process.env.PATH}`,
      npm_config_registry: registry.url,
      npm_config_prefix: prefix,
      npm_config_cache: join(work, "npm-cache"),
      npm_config_update_notifier: "false",
    };
    const uses: WorkflowStep[] = [];
    for (const step of steps) {
      if (step.uses) {
        uses.push(step);
        continue;
      }
      await runStep(step, workspace, env, expressions);
    }
    expect(uses.map((u) => u.uses!.split("@")[0])).toEqual([
      "actions/checkout",
      "actions/setup-node",
      "actions/cache",
      "actions/upload-artifact",
    ]);
    // The key file the release step wrote is gone again.
    expect(await readdir(runnerTemp)).toEqual([]);

    // What upload-artifact uploads: one verified release directory per architecture with the whole catalog.
    const upload = join(workspace, String(uses.at(-1)!.with!.path));
    expect((await readdir(upload)).sort()).toEqual(["arm64", "x86-64"]);
    for (const arch of ["x86-64", "arm64"]) {
      const dir = join(upload, arch);
      const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as {
        extensions: Array<{ name: string; release: Record<string, string>; image: { file: string } }>;
      };
      expect(manifest.extensions.map((e) => e.name)).toEqual(CATALOG);
      for (const e of manifest.extensions)
        expect(e.release).toMatchObject({ ID: "debian", VERSION_ID: "12", ARCHITECTURE: arch });
      const sums = await execa("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, reject: false });
      expect(sums.exitCode, sums.stdout).toBe(0);
      // Independent reading: the agent binary of the arm64 VMware image is an arm64 ELF file.
      const image = manifest.extensions.find((e) => e.name === "oem-vmware")!.image.file;
      const elf = await execa("unsquashfs", ["-cat", join(dir, image), "usr/bin/vmtoolsd"], {
        encoding: "buffer",
      });
      const machine = Buffer.from(elf.stdout as Uint8Array).readUInt16LE(18);
      expect(machine).toBe(arch === "arm64" ? 0xb7 : 0x3e);
    }
    await writeFile(join(work, "done"), "");
  }, 3_600_000);
});
