// Tests of relocation: moves under usr/, link repair, the generated setup unit, units from etc/systemd/system.
import { execa } from "execa";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyTransforms } from "../../src/tree/transform.js";
import { thrown } from "../helpers/errors.js";
import { needTools } from "../helpers/tools.js";
import { ctx, paths, spec, target, text, tree } from "./transform-fixtures.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sysextkit-transform-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("relocation", () => {
  it("moves paths and globs under usr/, rewrites links into them and generates one setup unit", async () => {
    const b = tree(
      {
        "etc/vmware-tools/tools.conf": "[logging]\n",
        "etc/vmware-tools/scripts/poweron.sh": "#!/bin/sh\n",
        "etc/amazon/ssm/amazon-ssm-agent.json": "{}",
        "etc/amazon/ssm/seelog.xml": "<x/>",
        "usr/bin/vmtoolsd": "bin",
        "usr/lib/systemd/system/vmtoolsd.service": "[Service]\n",
      },
      {
        "usr/bin/tools-conf": "/etc/vmware-tools/tools.conf",
        "usr/share/conf-rel": "../../etc/vmware-tools",
      },
    );
    const s = spec({
      relocate: [
        { from: "/etc/vmware-tools", to: "usr/share/oem/vmware-tools", link: "setup-unit" },
        { from: "etc/amazon/ssm/*", to: "/usr/share/amazon/ssm", link: "setup-unit" },
      ],
      services: { upholds: ["vmtoolsd.service"] },
    });
    const findings = applyTransforms(b, s, ctx());
    expect(paths(b).filter((p) => p.startsWith("etc"))).toEqual([]);
    expect(b.has("usr/share/oem/vmware-tools/scripts/poweron.sh")).toBe(true);
    expect(b.has("usr/share/amazon/ssm/seelog.xml")).toBe(true);
    expect(target(b, "usr/bin/tools-conf")).toBe("/usr/share/oem/vmware-tools/tools.conf");
    expect(target(b, "usr/share/conf-rel")).toBe("oem/vmware-tools");
    const unit = text(b.get("usr/lib/systemd/system/setup-oem-test.service"));
    expect(unit).toContain("Type=oneshot\nRemainAfterExit=yes\n");
    expect(unit).toContain("Before=vmtoolsd.service\n");
    const exec = unit.split("\n").filter((l) => l.startsWith("ExecStart="));
    expect(exec).toEqual([
      "ExecStart=/usr/bin/mkdir -p /etc",
      "ExecStart=/usr/bin/mkdir -p /etc/amazon/ssm",
      "ExecStart=/usr/bin/ln -sfrT /usr/share/oem/vmware-tools /etc/vmware-tools",
      "ExecStart=/usr/bin/ln -sfrT /usr/share/amazon/ssm/amazon-ssm-agent.json /etc/amazon/ssm/amazon-ssm-agent.json",
      "ExecStart=/usr/bin/ln -sfrT /usr/share/amazon/ssm/seelog.xml /etc/amazon/ssm/seelog.xml",
    ]);
    expect(text(b.get("usr/lib/systemd/system/multi-user.target.d/10-oem-test.conf"))).toBe(
      "[Unit]\nUpholds=vmtoolsd.service setup-oem-test.service\n",
    );
    expect(b.get("usr/lib/systemd/system/setup-oem-test.service")).toMatchObject({
      mode: 0o644,
      origin: expect.stringMatching(/^generated: /),
    });
    expect(findings.filter((f) => f.code === "relocate")).toHaveLength(2);

    // The ExecStart lines do what they should: run them against a scratch root.
    const root = await mkdtemp(join(tmp, "root-"));
    await mkdir(join(root, "usr/share/oem/vmware-tools"), { recursive: true });
    await writeFile(join(root, "usr/share/oem/vmware-tools/tools.conf"), "x");
    for (const line of exec.filter((l) => l.includes("vmware") || l.endsWith("/etc"))) {
      const [bin, ...args] = line.slice("ExecStart=".length).split(" ");
      await execa(
        bin!,
        args.map((a) => (a.startsWith("/") ? join(root, a) : a)),
      );
    }
    const { stdout } = await execa("readlink", [join(root, "etc/vmware-tools")]);
    expect(stdout).toBe("../usr/share/oem/vmware-tools");
    expect((await execa("cat", [join(root, "etc/vmware-tools/tools.conf")])).stdout).toBe("x");
  });

  it("the generated unit passes systemd-analyze verify", async () => {
    await needTools("systemd-analyze");
    const b = tree({ "etc/foo/a.conf": "a" });
    applyTransforms(
      b,
      spec({ relocate: [{ from: "etc/foo", to: "usr/share/foo", link: "setup-unit" }] }),
      ctx(),
    );
    const dir = await mkdtemp(join(tmp, "units-"));
    await writeFile(
      join(dir, "setup-oem-test.service"),
      text(b.get("usr/lib/systemd/system/setup-oem-test.service")),
    );
    const r = await execa("systemd-analyze", ["verify", "--man=no", join(dir, "setup-oem-test.service")], {
      reject: false,
    });
    expect(r.stderr).not.toMatch(/setup-oem-test\.service:\d+:/);
    expect(r.exitCode).toBe(0);
  });

  it("refuses a destination outside usr/ and opt/, and warns about rules that match nothing", () => {
    const b = tree({ "etc/foo": "x" });
    const err = thrown(
      () => applyTransforms(b, spec({ relocate: [{ from: "etc/foo", to: "var/lib/foo" }] }), ctx()),
      "SPEC_INVALID",
    );
    expect(err.location?.field).toBe("relocate[0].to");
    const f = applyTransforms(
      tree({}),
      spec({ relocate: [{ from: "etc/none", to: "usr/share/none" }] }),
      ctx(),
    );
    expect(f.find((x) => x.code === "relocate-unmatched")?.severity).toBe("warning");
  });

  it("refuses to link a path with a line break from the setup unit (it would inject a directive)", () => {
    const b = tree({ "etc/app/x\nExecStart=/bin/sh -c evil": "x" });
    const relocate = [{ from: "etc/app/*", to: "usr/share/app", link: "setup-unit" as const }];
    const err = thrown(() => applyTransforms(b, spec({ relocate }), ctx()), "SOURCE_INVALID");
    expect(err.hint).toBeTruthy();
  });

  it("moves units from etc/systemd/system to usr/lib/systemd/system by itself", () => {
    const b = tree({
      "etc/systemd/system/waagent.service": "[Service]\n",
      "etc/systemd/system/waagent.service.d/10-x.conf": "[Service]\n",
    });
    const f = applyTransforms(b, spec(), ctx());
    expect(paths(b)).toEqual([
      "usr",
      "usr/lib",
      "usr/lib/systemd",
      "usr/lib/systemd/system",
      "usr/lib/systemd/system/waagent.service",
      "usr/lib/systemd/system/waagent.service.d",
      "usr/lib/systemd/system/waagent.service.d/10-x.conf",
    ]);
    expect(f.find((x) => x.code === "relocate")?.message).toContain("waagent.service");
  });
});
