// Tests of the other tree transforms: strip, /usr and sbin folding, the Upholds= drop-in, oem-release.
import { describe, expect, it } from "vitest";
import { applyTransforms } from "../../src/tree/transform.js";
import { parseEnvFile } from "../../src/util/env-file.js";
import { thrown } from "../helpers/errors.js";
import { ctx, paths, spec, target, text, tree } from "./transform-fixtures.js";

describe("strip", () => {
  const files = {
    "usr/share/doc/foo/README": "r",
    "usr/share/doc/foo/copyright": "c",
    "usr/share/man/man1/foo.1.gz": "m",
    "usr/share/locale/de/LC_MESSAGES/foo.mo": "l",
    "usr/share/lintian/overrides/foo": "o",
    "usr/include/foo.h": "h",
    "usr/lib/x86_64-linux-gnu/libfoo.a": "a",
    "usr/lib/x86_64-linux-gnu/libfoo.so.1": "so",
    "usr/share/foo/data": "d",
    "usr/share/foo/extra/big": "b",
  };

  it("removes the default set and strip.paths except strip.keep, pruning emptied directories", () => {
    const b = tree(files);
    const f = applyTransforms(
      b,
      spec({ strip: { paths: ["usr/share/foo/extra"], keep: ["usr/share/doc/*/copyright"] } }),
      ctx(),
    );
    expect(paths(b)).toEqual([
      "usr",
      "usr/lib",
      "usr/lib/x86_64-linux-gnu",
      "usr/lib/x86_64-linux-gnu/libfoo.so.1",
      "usr/share",
      "usr/share/doc",
      "usr/share/doc/foo",
      "usr/share/doc/foo/copyright",
      "usr/share/foo",
      "usr/share/foo/data",
    ]);
    const msg = f.find((x) => x.code === "strip")?.message ?? "";
    expect(msg).toContain("usr/share/man/** (3)");
    expect(msg).toContain("**/*.a (1)");
    expect(msg).toContain("usr/share/foo/extra (2)");
  });

  it("strip.defaults: false keeps everything", () => {
    const b = tree(files);
    applyTransforms(b, spec({ strip: { defaults: false } }), ctx());
    expect(paths(b)).toContain("usr/share/man/man1/foo.1.gz");
    expect(paths(b)).toContain("usr/include/foo.h");
  });
});

describe("/usr and sbin folding", () => {
  const input = () =>
    tree(
      {
        "sbin/mount.foo": "m",
        "bin/foo": "f",
        "usr/sbin/foo-daemon": "d",
        "usr/bin/tool": "t",
        "lib/systemd/system/foo.service": "[Service]\n",
        "lib/x86_64-linux-gnu/libfoo.so.1": "so",
      },
      {
        "usr/sbin/foo-alias": "foo-daemon",
        "usr/sbin/tool": "../bin/tool",
        "usr/bin/daemon-link": "../sbin/foo-daemon",
        "usr/lib/mounter": "/sbin/mount.foo",
        "usr/lib/x86_64-linux-gnu/libfoo.so": "../../../lib/x86_64-linux-gnu/libfoo.so.1",
        lib64: "usr/lib64",
      },
    );

  it("merged-sbin base (auto): everything lands in usr/bin and symlinks are repaired", () => {
    const b = input();
    const f = applyTransforms(b, spec(), ctx(true));
    expect(paths(b).filter((p) => !p.startsWith("usr/"))).toEqual(["usr"]);
    expect(b.has("usr/sbin")).toBe(false);
    for (const p of [
      "usr/bin/mount.foo",
      "usr/bin/foo",
      "usr/bin/foo-daemon",
      "usr/lib/systemd/system/foo.service",
    ])
      expect(b.get(p)?.type).toBe("file");
    expect(target(b, "usr/bin/foo-alias")).toBe("foo-daemon");
    expect(target(b, "usr/bin/daemon-link")).toBe("foo-daemon");
    expect(target(b, "usr/lib/mounter")).toBe("/usr/bin/mount.foo");
    expect(target(b, "usr/lib/x86_64-linux-gnu/libfoo.so")).toBe("libfoo.so.1");
    // usr/sbin/tool -> ../bin/tool would point at itself: dropped in favour of the real file.
    expect(b.get("usr/bin/tool")?.type).toBe("file");
    expect(f.some((x) => x.code === "usr-merge" && x.message.includes("lib64"))).toBe(true);
  });

  it("without merged sbin: /sbin goes to usr/sbin, usr/sbin stays", () => {
    const b = input();
    applyTransforms(b, spec(), ctx(false));
    expect(b.get("usr/sbin/mount.foo")?.type).toBe("file");
    expect(b.get("usr/sbin/foo-daemon")?.type).toBe("file");
    expect(target(b, "usr/lib/mounter")).toBe("/usr/sbin/mount.foo");
    expect(b.get("usr/bin/foo")?.type).toBe("file");
    const forced = input();
    applyTransforms(forced, spec({ mergeSbin: true }), ctx(false));
    expect(forced.has("usr/sbin")).toBe(false);
  });

  it("a file in both usr/sbin and usr/bin is a conflict naming both", () => {
    const b = tree({ "usr/sbin/x": "1", "usr/bin/x": "2" });
    const err = thrown(() => applyTransforms(b, spec({ mergeSbin: true }), ctx()), "PATH_CONFLICT");
    expect(err.message).toContain("usr/sbin/x");
    expect(err.message).toContain("usr/bin/x");
  });
});

describe("services and oem-release", () => {
  it("writes the Upholds= drop-in for the configured target and warns about units not in the image", () => {
    const b = tree({ "usr/lib/systemd/system/a.service": "", "usr/lib/systemd/system/getty@.service": "" });
    const f = applyTransforms(
      b,
      spec({
        services: { upholds: ["a.service", "getty@tty1.service", "b.timer"], target: "custom.target" },
      }),
      ctx(),
    );
    expect(text(b.get("usr/lib/systemd/system/custom.target.d/10-oem-test.conf"))).toBe(
      "[Unit]\nUpholds=a.service getty@tty1.service b.timer\n",
    );
    expect(f.filter((x) => x.code === "upholds-unit-missing").map((x) => x.path)).toEqual([
      "usr/lib/systemd/system/b.timer",
    ]);
    const none = tree({});
    applyTransforms(none, spec(), ctx());
    expect(paths(none)).toEqual([]);
  });

  it("writes oem-release with ID, VERSION_ID, NAME, HOME_URL, BUG_REPORT_URL", () => {
    const b = tree({});
    const s = spec({
      metadata: { bugReportUrl: "https://issues.flatcar.org" },
      oem: { id: "azure", name: "Microsoft Azure", homeUrl: "https://azure.microsoft.com/" },
    });
    applyTransforms(b, s, ctx(), "2.9.1.1-1");
    const e = b.get("usr/share/oem/oem-release");
    expect(e).toMatchObject({ mode: 0o644, origin: "generated: oem-release" });
    expect(Object.fromEntries(parseEnvFile(text(e)))).toEqual({
      ID: "azure",
      VERSION_ID: "2.9.1.1-1",
      NAME: "Microsoft Azure",
      HOME_URL: "https://azure.microsoft.com/",
      BUG_REPORT_URL: "https://issues.flatcar.org",
    });
    const pinned = tree({});
    applyTransforms(
      pinned,
      spec({ oem: { id: "qemu", versionId: "3", path: "/usr/share/flatcar/oem-release" } }),
      ctx(),
      "9",
    );
    expect(text(pinned.get("usr/share/flatcar/oem-release"))).toBe("ID=qemu\nVERSION_ID=3\nNAME=qemu\n");
    const noVersion = tree({});
    applyTransforms(noVersion, spec({ oem: { id: "qemu" } }), ctx());
    expect(text(noVersion.get("usr/share/oem/oem-release"))).toBe("ID=qemu\nNAME=qemu\n");
  });
});
