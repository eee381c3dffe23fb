// End to end with the real systemd-sysupdate, systemd-pull, gpg and systemd-sysext of systemd 257 (Debian 13) and 262 (unstable).
//
// The tools root itself, on a throwaway overlay, plays the host: it becomes flatcar 4081.2.0, gets our
// transfer files from release A and an /etc drop-in pointing at the feed of releases A, B, C served on
// 127.0.0.1, and runs systemd-sysupdate and systemd-sysext as a booted host would (no --root: systemd
// 257's systemd-sysext --root skips symlinks in /etc/extensions, which a real host follows).
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sysupdateFiles } from "../../src/manifest/sysupdate.js";
import { cli } from "../helpers/cli.js";
import { systemdVersionOf, toolsRoot, type ToolsRoot } from "../helpers/chroot.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { ARCH, makeUpdateFixture, NAME, type UpdateFixture } from "./sysupdate-fixture.js";

needRoot();
await needTools("unshare", "chroot", "debootstrap", "gpg", "mksquashfs");
const SU = "/usr/lib/systemd/systemd-sysupdate";
const img = (os: string, v: string) => `${NAME}-${os}-${v}-${ARCH}.raw`;
const link = (os: string) => `${NAME}_${os}_${ARCH}.raw`;

let fx: UpdateFixture;
beforeAll(async () => {
  fx = await makeUpdateFixture();
}, 600_000);
afterAll(async () => {
  if (fx) await fx.dispose();
});

describe.each(["trixie-tools", "sid-tools"] as const)("systemd-sysupdate of %s", (name) => {
  let root: ToolsRoot;
  let systemd = 0;
  const host = (...p: string[]) => join(root.upper, ...p);
  const put = async (path: string, data: string | Buffer) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  };
  const sh = async (script: string, ok = true) => {
    const r = await root.run(script);
    if (ok) expect(r.exitCode, `${script}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  };
  /** Merge with the real systemd-sysext of this root: what is merged, and the merged extension-release. */
  const merge = async (extra = "") =>
    sh(
      `systemd-sysext merge --no-reload || exit 1
systemd-sysext status; cat /usr/share/${NAME}/version /usr/lib/extension-release.d/extension-release.${NAME}
${extra}
systemd-sysext unmerge --no-reload`,
    );
  const osRelease = (v: string) => put(host("usr/lib/os-release"), `ID=flatcar\nVERSION_ID=${v}\n`);
  /** Install the extension's own transfer (+ drop-in) from release A as the OS image ships it, in /usr/lib. */
  const install = async (suffix: ".transfer" | ".conf", component: string) => {
    const own = `/usr/lib/sysupdate.${NAME}.d/`;
    for (const f of sysupdateFiles(NAME, { verify: true, url: fx.url("staging") }))
      for (const target of f.installAs)
        if (target.startsWith(own) && (target.endsWith(suffix) || target.includes(`${suffix}.d/`))) {
          const to = host(target.replace(own, `usr/lib/sysupdate.${component}.d/`));
          await mkdir(dirname(to), { recursive: true });
          await copyFile(join(fx.rel.A, f.file), to);
        }
    // The operator's drop-in in /etc wins over the /usr/lib one: the host now fetches from /feed/.
    await put(
      host(`etc/sysupdate.${component}.d/${NAME}${suffix}.d/source.conf`),
      `[Source]\nPath=${fx.url("feed")}\n`,
    );
  };

  beforeAll(async () => {
    root = await toolsRoot(name);
    systemd = await systemdVersionOf(root);
    const ring = await readFile(fx.pubring);
    await put(join(root.upper, "etc/systemd/import-pubring.gpg"), ring);
    await put(join(root.upper, "etc/systemd/import-pubring.pgp"), ring);
    await osRelease("4081.2.0");
    await mkdir(host("etc/extensions"), { recursive: true }); // systemd 257 does not create it
    // Earlier instances for this OS release, and one of an older OS release the %w pattern must not touch.
    const a = join(fx.feed, img("4081.2.0", "1.0"));
    for (const v of ["0.7", "0.8", "0.9"])
      await put(host("opt/extensions", NAME, img("4081.2.0", v)), await readFile(a));
    await put(host("opt/extensions", NAME, img("4081.1.0", "0.5")), await readFile(a));
    // The current link points at 0.9, as an earlier update left it.
    await symlink(
      `../../opt/extensions/${NAME}/${img("4081.2.0", "0.9")}`,
      host("etc/extensions", link("4081.2.0")),
    );
    await install(".transfer", NAME);
  }, 120_000);
  afterAll(async () => {
    if (root) await root.dispose();
  });

  it("list and check-new agree with sysextkit verify on the newest version for this OS release", async () => {
    expect(systemd).toBe(name === "trixie-tools" ? 257 : 262);
    const v = await cli(["verify", fx.feed, "--gpg-public", fx.pubring, "--json"]);
    expect(v.exitCode, v.stdout).toBe(0);
    const newest = (JSON.parse(v.stdout) as { newest: Array<{ osVersion: string; version: string }> }).newest;
    const ours = newest.find((n) => n.osVersion === "4081.2.0")!.version;
    expect(ours).toBe("1.1");
    const list = await sh(`${SU} -C ${NAME} list --json=short`);
    const listed = JSON.parse(list.stdout.trim().split("\n").at(-1)!) as { all: string[] };
    expect(listed.all[0]).toBe(ours);
    expect(listed.all).not.toContain("4081.3.0-1.1");
    const check = await sh(`${SU} -C ${NAME} check-new`);
    expect(check.stdout.trim()).toBe(ours);
  });

  it("update installs B's 1.1 for 4081.2.0 (never C's), moves CurrentSymlink, keeps InstancesMax, and it merges", async () => {
    const before = fx.server.log.length;
    await sh(`${SU} -C ${NAME} update`);
    const installed = (await readdir(host("opt/extensions", NAME))).sort();
    expect(installed).toEqual(
      [img("4081.1.0", "0.5"), img("4081.2.0", "0.8"), img("4081.2.0", "0.9"), img("4081.2.0", "1.1")].sort(),
    );
    expect(await readFile(host("opt/extensions", NAME, img("4081.2.0", "1.1")))).toEqual(
      await readFile(join(fx.rel.B, img("4081.2.0", "1.1"))),
    );
    const requested = fx.server.log.slice(before).join("\n");
    expect(requested).toContain(`/feed/${img("4081.2.0", "1.1")} 200`);
    expect(requested).not.toContain("4081.3.0");
    expect(await readlink(host("etc/extensions", link("4081.2.0")))).toBe(
      `../../opt/extensions/${NAME}/${img("4081.2.0", "1.1")}`,
    );
    const m = await merge();
    expect(m.stdout).toContain("oem-x 1.1");
    expect(m.stdout).toMatch(/^VERSION_ID=4081\.2\.0$/m);
  });

  it("the .conf form (systemd 252-256) reads the same settings and drop-in", async () => {
    await install(".conf", "legacy");
    const r = await sh(`${SU} -C legacy list --json=short`);
    const all = (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { all: string[] }).all;
    expect(all[0]).toBe("1.1");
    expect(all).toContain("1.0");
  });

  it("Verify=true: a tampered SHA256SUMS, another key's signature and no signature are refused by sysupdate and verify", async () => {
    for (const [prefix, why] of [
      ["bad-sums", /BAD signature|Signature verification failed/],
      ["other-key", /Signature verification failed/],
      ["no-sig", /Failed to retrieve signature file/],
    ] as const) {
      await put(
        host(`etc/sysupdate.${NAME}.d/${NAME}.transfer.d/source.conf`),
        `[Source]\nPath=${fx.url(prefix)}\n`,
      );
      const r = await sh(`${SU} -C ${NAME} check-new`, false);
      expect(r.exitCode, `${prefix}: ${r.stdout}`).not.toBe(0);
      expect(r.stderr, prefix).toMatch(why);
      const v = await cli(["verify", join(fx.dir, "tamper", prefix), "--gpg-public", fx.pubring]);
      expect(v.exitCode, v.stdout).toBe(1);
      expect(v.stdout).toMatch(
        /FAIL SHA256SUMS\.gpg: (BAD signature|signed by key .* not in the given keyring|missing)/,
      );
    }
    await put(
      host(`etc/sysupdate.${NAME}.d/${NAME}.transfer.d/source.conf`),
      `[Source]\nPath=${fx.url("feed")}\n`,
    );
  });

  it("the feature stages C's image with the OS update to 4081.3.0; the first boot of 4081.3.0 merges it", async () => {
    // The OS's own component: a stand-in OS transfer, our feature and staging transfer.
    await put(
      host("usr/lib/sysupdate.d/00-os.transfer"),
      `[Source]\nType=url-file\nPath=${fx.url("os")}\nMatchPattern=flatcar_@v.img\n[Target]\nType=regular-file\nPath=/var/lib/os-images\nMatchPattern=flatcar_@v.img\nInstancesMax=2\n`,
    );
    await put(
      host("var/lib/os-images/flatcar_4081.2.0.img"),
      await readFile(join(fx.dir, "osfeed/flatcar_4081.2.0.img")),
    );
    await mkdir(host("var/lib/extensions"), { recursive: true });
    for (const f of ["feature", "-stage.transfer"]) {
      const file = f === "feature" ? `${NAME}.feature` : `${NAME}-stage.transfer`;
      await copyFile(join(fx.rel.A, file), host("usr/lib/sysupdate.d", file));
    }
    await put(
      host(`usr/lib/sysupdate.d/${NAME}-stage.transfer.d/source.conf`),
      await readFile(join(fx.rel.A, `${NAME}.source.conf`)),
    );
    await put(
      host(`etc/sysupdate.d/${NAME}-stage.transfer.d/source.conf`),
      `[Source]\nPath=${fx.url("feed")}\n`,
    );

    // Feature off: the OS update comes alone.
    await sh(`${SU} update`);
    expect(await readdir(host("var/lib/extensions"))).toEqual([]);
    await rm(host("var/lib/os-images/flatcar_4081.3.0.img"));
    // Feature on (systemd 262 has enable-feature; 257 takes the drop-in it would write).
    if (systemd >= 262) await sh(`${SU} enable-feature ${NAME}`);
    else await put(host(`etc/sysupdate.d/${NAME}.feature.d/enable.conf`), "[Feature]\nEnabled=true\n");
    const features = await sh(`${SU} features`);
    expect(features.stdout).toMatch(new RegExp(`✓.*${NAME}`));
    await sh(`${SU} update`);
    expect(await readdir(host("var/lib/os-images"))).toEqual([
      "flatcar_4081.2.0.img",
      "flatcar_4081.3.0.img",
    ]);
    expect(await readdir(host("var/lib/extensions"))).toEqual([link("4081.3.0")]);
    expect(await readFile(host("var/lib/extensions", link("4081.3.0")))).toEqual(
      await readFile(join(fx.rel.C, img("4081.3.0", "1.1"))),
    );

    // Still on 4081.2.0: the staged image is ignored, the host's own one merges.
    let s = await merge();
    expect(s.stdout).toContain(link("4081.2.0").replace(/\.raw$/, ""));
    expect(s.stdout).not.toContain(link("4081.3.0").replace(/\.raw$/, ""));
    // First boot of 4081.3.0: the staged image of C merges, the 4081.2.0 one is ignored.
    await osRelease("4081.3.0");
    s = await merge();
    expect(s.stdout).toContain(link("4081.3.0").replace(/\.raw$/, ""));
    expect(s.stdout).not.toContain(link("4081.2.0").replace(/\.raw$/, ""));
    expect(s.stdout).toMatch(/^VERSION_ID=4081\.3\.0$/m);
    // The extension's own update on 4081.3.0 links C's image in /etc/extensions: it shadows the staged
    // one of the same name, so one layer of oem-x is merged, not two.
    await sh(`${SU} -C ${NAME} update`);
    expect((await lstat(host("etc/extensions", link("4081.3.0")))).isSymbolicLink()).toBe(true);
    s = await merge();
    expect(s.stdout.match(new RegExp(`${NAME}_`, "g"))).toHaveLength(1); // one layer, on /usr
    const found = (await sh("systemd-sysext list")).stdout
      .split("\n")
      .filter((l) => l.startsWith(link("4081.3.0").replace(/\.raw$/, "")));
    expect(found).toHaveLength(1);
    // 257 prints the link's path, 262 its target: either way the host's own image, not the staged one.
    expect(found[0]).not.toContain("/var/lib/extensions/");
    expect(
      found[0]!.includes(`/etc/extensions/${link("4081.3.0")}`) ||
        found[0]!.includes(`/opt/extensions/${NAME}/${img("4081.3.0", "1.1")}`),
      found[0],
    ).toBe(true);
    // Back on 4081.2.0 (a rollback): its own image merges again.
    await osRelease("4081.2.0");
    s = await merge();
    expect(s.stdout).toMatch(/^VERSION_ID=4081\.2\.0$/m);
  }, 240_000);
});
