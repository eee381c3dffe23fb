// Base profiles (family, package format, SELinux) by os-release ID and ID_LIKE, and RPM architecture names.
import { describe, expect, it } from "vitest";
import { normalizeArch, rpmArch, rpmArches } from "../../src/base/arch.js";
import { baseProfile } from "../../src/base/profiles.js";

const profile = (id: string, idLike: string[] = []) => baseProfile({ id, idLike });

describe("base profiles", () => {
  it.each([
    ["fedora", "fedora", true],
    ["centos", "fedora", true],
    ["rhel", "fedora", true],
    ["opensuse-tumbleweed", "suse", true],
    ["opensuse-leap", "suse", false],
    ["sles", "suse", false],
    ["sl-micro", "suse", true],
    ["debian", "debian", false],
    ["flatcar", "flatcar", false],
  ] as const)("%s is of the %s family (SELinux by default: %s)", (id, family, selinux) => {
    expect(profile(id).family).toBe(family);
    expect(profile(id).selinux).toBe(selinux);
    expect(profile(id).packages).toBe(
      family === "fedora" || family === "suse" ? "rpm" : family === "debian" ? "deb" : undefined,
    );
  });

  it("falls back to ID_LIKE, else to an empty profile", () => {
    expect(profile("myos", ["rhel", "centos", "fedora"]).family).toBe("fedora");
    expect(profile("mysuse", ["suse", "opensuse"]).family).toBe("suse");
    expect(profile("unknown").family).toBe("");
  });

  it("maps RPM architecture names to systemd's and back (noarch fits all)", () => {
    expect(normalizeArch("x86_64")).toBe("x86-64");
    expect(normalizeArch("aarch64")).toBe("arm64");
    expect(normalizeArch("ppc64le")).toBe("ppc64-le");
    expect(normalizeArch("armv7hl")).toBe("arm");
    expect(rpmArch("x86-64")).toBe("x86_64");
    expect(rpmArch("arm64")).toBe("aarch64");
    expect(rpmArches("x86")).toContain("i686");
    expect(rpmArch("alpha")).toBe("");
  });
});
