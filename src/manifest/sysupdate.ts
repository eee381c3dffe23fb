// systemd-sysupdate for extensions: OS-bound published names and patterns, and the transfers, feature and drop-in as data.
//
// Two ways an extension is updated (README "Updates with systemd-sysupdate"):
// - its own component, sysupdate.<name>.d/<name>.transfer: `@v` is the extension version and `%w` the
//   VERSION_ID of the running OS, so a host only ever sees images built for the OS it runs;
// - the OS's component (sysupdate.d/), behind the feature <name> (systemd 257+): `@v` is the OS version,
//   so when the OS moves to a new version the image for that version is staged with it, into
//   /var/lib/extensions under <name>_<OS>_<arch>.raw, where systemd-sysext finds it at the first boot.
// The image name carries the OS version on both paths (CurrentSymlink /etc/extensions/<name>_%w_%a.raw),
// so a host's own image in /etc/extensions shadows a staged one of the same OS and no two layers of one
// extension are ever merged together.
import { renderIni, type IniSection } from "../util/kv-writer.js";

/** What sysupdate accepts as a version (sysupdate-util.c version_is_valid): alphanumerics and `.,_+-`. */
export function isSysupdateVersion(v: string): boolean {
  return /^[A-Za-z0-9.,_+-]+$/.test(v) && v !== "." && v !== ".." && v.length <= 255;
}

/**
 * The version sysupdate compares for an extension (the `@v` of its own transfer): SYSEXT_VERSION_ID when
 * sysupdate accepts it as is; a Debian version loses its epoch (`2:12.2.0-1` -> `12.2.0-1`, extensions are
 * compared only within one OS release, where epochs do not change) and `~` becomes `_`. Without
 * SYSEXT_VERSION_ID, `fallback` (the release version, by default the OS VERSION_ID).
 */
export function extensionUpdateVersion(sysextVersionId: string | undefined, fallback: string): string {
  if (sysextVersionId === undefined || sysextVersionId === "") return fallback;
  if (isSysupdateVersion(sysextVersionId)) return sysextVersionId;
  const v = sysextVersionId.replace(/^\d+:/, "").replace(/[^A-Za-z0-9.,_+-]/g, "_");
  return isSysupdateVersion(v) ? v : fallback;
}

/** Published image name: `<name>-<OS VERSION_ID>-<extension version>-<arch>.raw`. */
export function publishedImageName(name: string, osVersion: string, version: string, arch: string): string {
  return `${name}-${osVersion}-${version}-${arch}.raw`;
}

/** The same image keyed by the OS version only: `<name>_<OS VERSION_ID>_<arch>.raw` (what staging fetches). */
export function osImageName(name: string, osVersion: string, arch: string): string {
  return `${name}_${osVersion}_${arch}.raw`;
}

/** MatchPattern of the extension's own transfer: the running OS's images only, newest extension version. */
export function extensionPattern(name: string): string {
  return `${name}-%w-@v-%a.raw`;
}

/** MatchPattern of the staging transfer in the OS's component: `@v` is the OS version. */
export function stagePattern(name: string): string {
  return `${name}_@v_%a.raw`;
}

/**
 * sysupdate's pattern_match for a file name, for patterns with one `@v` and the specifiers `%w`, `%a`,
 * `%%`: the literal before `@v` must start the name, `@v` runs up to the FIRST occurrence of the literal
 * after it, which must end the name. Returns the version, or undefined when the name does not match.
 */
export function matchPattern(
  pattern: string,
  fileName: string,
  host: { readonly arch: string; readonly osVersion?: string },
): string | undefined {
  const expanded = pattern.replace(/%([wa%])/g, (_, c: string) =>
    c === "a" ? host.arch : c === "w" ? (host.osVersion ?? "") : "%",
  );
  const at = expanded.indexOf("@v");
  if (at < 0 || expanded.indexOf("@v", at + 2) >= 0) return undefined;
  const prefix = expanded.slice(0, at);
  const suffix = expanded.slice(at + 2);
  if (!fileName.startsWith(prefix)) return undefined;
  const rest = fileName.slice(prefix.length);
  const end = suffix === "" ? rest.length : rest.indexOf(suffix);
  if (end < 0 || rest.slice(end) !== suffix) return undefined;
  const version = rest.slice(0, end);
  return isSysupdateVersion(version) ? version : undefined;
}

export interface SysupdateOptions {
  /** SHA256SUMS.gpg is published: Verify=true (systemd-sysupdate's default), else Verify=false. */
  readonly verify: boolean;
  /** The update host (Path= of the source drop-in); without it no drop-in is written. */
  readonly url?: string;
  /** InstancesMax= of the extension's own transfer (default 3). */
  readonly instancesMax?: number;
}

/** One generated sysupdate file: its name in the release directory, where a host installs it, for which systemd. */
export interface SysupdateFile {
  readonly file: string;
  /** Install paths (a drop-in goes next to each transfer it configures). */
  readonly installAs: readonly string[];
  /** The systemd versions it is for: "257+", "252-256" (257+ reads the .conf form too, with a notice), or "all". */
  readonly systemd: "257+" | "252-256" | "all";
  readonly text: string;
}

/** Names of the sysupdate files written for an extension (in the order of sysupdateFiles). */
export function sysupdateFileNames(name: string, withSource: boolean): string[] {
  return [
    `${name}.transfer`,
    `${name}.conf`,
    `${name}.feature`,
    `${name}-stage.transfer`,
    `${name}-stage.conf`,
    ...(withSource ? [`${name}.source.conf`] : []),
  ];
}

const withSlash = (url: string) => (url.endsWith("/") ? url : `${url}/`);

function transferSections(
  verify: boolean,
  source: string,
  target: ReadonlyArray<readonly [string, string]>,
  features?: string,
): IniSection[] {
  return [
    {
      name: "Transfer",
      entries: [
        ...(features ? [["Features", features] as const] : []),
        ["Verify", verify ? "true" : "false"],
      ],
    },
    {
      name: "Source",
      entries: [
        ["Type", "url-file"],
        ["MatchPattern", source],
      ],
    },
    { name: "Target", entries: [["Type", "regular-file"], ...target] },
  ];
}

/** The transfers, feature and source drop-in of one extension, rendered by the one INI writer. */
export function sysupdateFiles(name: string, o: SysupdateOptions): SysupdateFile[] {
  const what = `sysupdate files of ${name}`;
  const ownDir = `/usr/lib/sysupdate.${name}.d`;
  const os = "/usr/lib/sysupdate.d";
  const pattern = extensionPattern(name);
  const stage = stagePattern(name);
  const verifyNote = o.verify
    ? "Verify=true: SHA256SUMS.gpg is checked against /etc/systemd/import-pubring.{pgp,gpg} (sysextkit release --gpg-export-public)."
    : "Verify=false: no SHA256SUMS.gpg is published; sign releases with sysextkit release --gpg-key to verify.";
  const ownTarget = [
    ["Path", `/opt/extensions/${name}`],
    ["MatchPattern", pattern],
    ["CurrentSymlink", `/etc/extensions/${name}_%w_%a.raw`],
    ["InstancesMax", String(o.instancesMax ?? 3)],
  ] as const;
  const ownText = (suffix: string) =>
    renderIni(what, transferSections(o.verify, pattern, ownTarget), [
      `systemd-sysupdate transfer of the extension ${name} (generated by sysextkit): ${ownDir}/${name}${suffix},`,
      `updated with: systemd-sysupdate -C ${name} update. %w is this host's VERSION_ID, @v the extension`,
      "version: only images built for the running OS release are ever considered.",
      `The update host is the drop-in ${name}${suffix}.d/source.conf (one in /etc/sysupdate.${name}.d/ overrides it).`,
      "systemd 257 does not create the directory of CurrentSymlink=: /etc/extensions must exist.",
      verifyNote,
    ]);
  const stageTarget = [
    ["Path", "/var/lib/extensions"],
    ["MatchPattern", stage],
    ["InstancesMax", "2"],
  ] as const;
  const stageText = (suffix: string, feature: boolean) =>
    renderIni(what, transferSections(o.verify, stage, stageTarget, feature ? name : undefined), [
      `Staging of the extension ${name} with the OS's own update (generated by sysextkit): ${os}/${name}-stage${suffix}.`,
      "@v is the OS version: updating the OS to version V also fetches the extension image for V into",
      "/var/lib/extensions, where systemd-sysext merges it at the first boot of V (and ignores it before).",
      feature
        ? `Runs only with the feature ${name} enabled (${os}/${name}.feature, see there how to enable it).`
        : "systemd 252-256 have no features: shipped in sysupdate.d, this transfer always runs.",
      verifyNote,
    ]);
  const files: SysupdateFile[] = [
    {
      file: `${name}.transfer`,
      installAs: [`${ownDir}/${name}.transfer`],
      systemd: "257+",
      text: ownText(".transfer"),
    },
    {
      file: `${name}.conf`,
      installAs: [`${ownDir}/${name}.conf`],
      systemd: "252-256",
      text: ownText(".conf"),
    },
    {
      file: `${name}.feature`,
      installAs: [`${os}/${name}.feature`],
      systemd: "257+",
      text: renderIni(
        what,
        [
          {
            name: "Feature",
            entries: [
              ["Description", `Stage the ${name} system extension for the next OS release`],
              ["Enabled", "false"],
            ],
          },
        ],
        [
          `sysupdate feature of the OS component (generated by sysextkit): ${os}/${name}.feature.`,
          `Enable it with a drop-in /etc/sysupdate.d/${name}.feature.d/enable.conf holding [Feature] Enabled=true`,
          `(or, where available: systemd-sysupdate enable-feature ${name} as in systemd 262, updatectl enable ${name}).`,
        ],
      ),
    },
    {
      file: `${name}-stage.transfer`,
      installAs: [`${os}/${name}-stage.transfer`],
      systemd: "257+",
      text: stageText(".transfer", true),
    },
    {
      file: `${name}-stage.conf`,
      installAs: [`${os}/${name}-stage.conf`],
      systemd: "252-256",
      text: stageText(".conf", false),
    },
  ];
  if (o.url !== undefined) {
    files.push({
      file: `${name}.source.conf`,
      installAs: [
        `${ownDir}/${name}.transfer.d/source.conf`,
        `${ownDir}/${name}.conf.d/source.conf`,
        `${os}/${name}-stage.transfer.d/source.conf`,
        `${os}/${name}-stage.conf.d/source.conf`,
      ],
      systemd: "all",
      text: renderIni(
        what,
        [{ name: "Source", entries: [["Path", withSlash(o.url), "sysupdateUrl"]] }],
        [
          `Update host of the extension ${name} (generated by sysextkit). Install it as source.conf next to each`,
          `transfer of ${name}; the same name under /etc/sysupdate.${name}.d/ or /etc/sysupdate.d/ overrides it.`,
        ],
      ),
    });
  }
  return files;
}
