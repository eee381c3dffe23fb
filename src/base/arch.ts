// Architecture names: systemd's spelling (what ARCHITECTURE= must say) and the aliases we accept as input.
import { SysextError } from "../errors.js";

/** systemd's architecture identifiers (src/basic/architecture.c), as ARCHITECTURE= must spell them. */
export const SYSTEMD_ARCHITECTURES = [
  "x86-64",
  "x86",
  "arm64",
  "arm64-be",
  "arm",
  "arm-be",
  "alpha",
  "arc",
  "arc-be",
  "cris",
  "ia64",
  "loongarch64",
  "m68k",
  "mips",
  "mips-le",
  "mips64",
  "mips64-le",
  "parisc",
  "parisc64",
  "ppc",
  "ppc-le",
  "ppc64",
  "ppc64-le",
  "riscv32",
  "riscv64",
  "s390",
  "s390x",
  "sh",
  "sh64",
  "sparc",
  "sparc64",
  "tilegx",
] as const;

export type SystemdArch = (typeof SYSTEMD_ARCHITECTURES)[number];

/** Other spellings (uname, Debian, Flatcar board names, Go/OCI) mapped to systemd's. */
export const ARCH_ALIASES: Readonly<Record<string, SystemdArch>> = {
  x86_64: "x86-64",
  amd64: "x86-64",
  "amd64-usr": "x86-64",
  x64: "x86-64",
  i386: "x86",
  i486: "x86",
  i586: "x86",
  i686: "x86",
  "386": "x86",
  aarch64: "arm64",
  "arm64-usr": "arm64",
  armv7hl: "arm",
  armhfp: "arm",
  aarch64_be: "arm64-be",
  armhf: "arm",
  armel: "arm",
  armv7l: "arm",
  armv7: "arm",
  armv6l: "arm",
  ppc64le: "ppc64-le",
  ppc64el: "ppc64-le",
  riscv64gc: "riscv64",
  loong64: "loongarch64",
  mipsel: "mips-le",
  mips64el: "mips64-le",
};

/** Debian architecture name for a systemd architecture (for .deb packages). */
const DEBIAN: Partial<Record<SystemdArch, string>> = {
  "x86-64": "amd64",
  x86: "i386",
  arm64: "arm64",
  arm: "armhf",
  "ppc64-le": "ppc64el",
  riscv64: "riscv64",
  s390x: "s390x",
  loongarch64: "loong64",
  "mips64-le": "mips64el",
  "mips-le": "mipsel",
};

/**
 * RPM architecture names per systemd architecture, preferred first (rpm's arch_compat for the
 * packages a machine of that architecture installs). "noarch" packages fit every architecture.
 */
const RPM: Partial<Record<SystemdArch, readonly string[]>> = {
  "x86-64": ["x86_64", "amd64"],
  x86: ["i686", "i586", "i486", "i386"],
  arm64: ["aarch64"],
  arm: ["armv7hl", "armv7hnl", "armhfp", "armv7l"],
  "ppc64-le": ["ppc64le"],
  ppc64: ["ppc64"],
  s390x: ["s390x"],
  riscv64: ["riscv64"],
  loongarch64: ["loongarch64"],
};

/** The RPM architecture names of packages that run on `arch` (without noarch); [] when none is known. */
export function rpmArches(arch: SystemdArch): readonly string[] {
  return RPM[arch] ?? [];
}

/** The main RPM architecture name of `arch` (x86-64 -> x86_64), or "" when there is none. */
export function rpmArch(arch: SystemdArch): string {
  return RPM[arch]?.[0] ?? "";
}

export function isSystemdArch(name: string): name is SystemdArch {
  return (SYSTEMD_ARCHITECTURES as readonly string[]).includes(name);
}

/** The systemd spelling for `name` if it is one we know, else undefined. */
export function lookupArch(name: string): SystemdArch | undefined {
  if (isSystemdArch(name)) return name;
  return ARCH_ALIASES[name] ?? ARCH_ALIASES[name.toLowerCase()];
}

/** Normalise any known spelling to systemd's, or fail with ARCH_UNKNOWN. */
export function normalizeArch(name: string, field = "architecture"): SystemdArch {
  const arch = lookupArch(name);
  if (arch) return arch;
  throw new SysextError("ARCH_UNKNOWN", `unknown architecture ${JSON.stringify(name)}`, {
    location: { field },
    hint: `use systemd's spelling: ${SYSTEMD_ARCHITECTURES.slice(0, 8).join(", ")}, ... (x86_64/amd64 -> x86-64, aarch64 -> arm64)`,
  });
}

export function debianArch(arch: SystemdArch): string {
  const deb = DEBIAN[arch];
  if (!deb) {
    throw new SysextError("ARCH_UNKNOWN", `no Debian architecture name is known for ${arch}`, {
      location: { field: "architecture" },
      hint: `.deb sources work for ${Object.keys(DEBIAN).join(", ")}; use directory or tar sources for ${arch}`,
    });
  }
  return deb;
}

/** The systemd architecture of the machine running this process. */
export function hostArch(): SystemdArch {
  const map: Record<string, SystemdArch> = {
    x64: "x86-64",
    arm64: "arm64",
    ia32: "x86",
    arm: "arm",
    ppc64: "ppc64-le",
    riscv64: "riscv64",
    s390x: "s390x",
    loong64: "loongarch64",
  };
  return map[process.arch] ?? normalizeArch(process.arch);
}
