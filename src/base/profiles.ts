// Base profiles: what sysextkit knows about a distribution by its os-release ID (package format, SELinux, tools).
import type { BaseRelease } from "./base.js";

/** The families whose package names and conventions differ. */
export type BaseFamily = "fedora" | "suse" | "debian" | "flatcar" | "";

export interface BaseProfile {
  readonly family: BaseFamily;
  /** Package format of the distribution, when it has one. */
  readonly packages: "rpm" | "deb" | undefined;
  /** Whether the distribution labels its files for SELinux by default (a missing policy is then worth a warning). */
  readonly selinux: boolean;
  /** How a user fetches the packages an extension bundles for this base (documentation for hints). */
  readonly download: string;
}

const DNF = "dnf --installroot=BASE_ROOT --releasever=VERSION_ID download --resolve --destdir=DIR NAME...";
const ZYPPER = "zypper --root BASE_ROOT --pkg-cache-dir DIR install --download-only NAME...";
const APT = "apt-get download NAME...";

interface Rule {
  readonly match: (id: string) => boolean;
  readonly profile: BaseProfile;
}

const fedora = (selinux: boolean): BaseProfile => ({
  family: "fedora",
  packages: "rpm",
  selinux,
  download: DNF,
});
const suse = (selinux: boolean): BaseProfile => ({
  family: "suse",
  packages: "rpm",
  selinux,
  download: ZYPPER,
});

/** By os-release ID, first match wins. */
const RULES: readonly Rule[] = [
  {
    match: (id) => ["fedora", "centos", "rhel", "almalinux", "rocky", "ol", "amzn"].includes(id),
    profile: fedora(true),
  },
  // SL Micro 6 and openSUSE MicroOS/Tumbleweed ship SELinux enforcing; SLES and Leap use AppArmor.
  {
    match: (id) =>
      ["sl-micro", "sle-micro", "opensuse-microos", "opensuse-tumbleweed", "opensuse-slowroll"].includes(id),
    profile: suse(true),
  },
  { match: (id) => id === "sles" || id.startsWith("opensuse"), profile: suse(false) },
  {
    match: (id) => id === "debian" || id === "ubuntu",
    profile: { family: "debian", packages: "deb", selinux: false, download: APT },
  },
  {
    match: (id) => id === "flatcar",
    profile: { family: "flatcar", packages: undefined, selinux: false, download: "" },
  },
];

const UNKNOWN: BaseProfile = { family: "", packages: undefined, selinux: false, download: "" };

/** The profile of a base: by its ID, else by the first ID_LIKE word that is known, else an empty profile. */
export function baseProfile(base: Pick<BaseRelease, "id" | "idLike">): BaseProfile {
  for (const id of [base.id, ...base.idLike]) {
    const rule = RULES.find((r) => r.match(id));
    if (rule) return rule.profile;
    if (id === "suse") return suse(false);
  }
  return UNKNOWN;
}
