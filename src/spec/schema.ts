// The extension spec (extension.yaml): one zod schema that yields the TypeScript types and the JSON Schema.
import { z } from "zod";
import { ARCH_ALIASES, lookupArch, SYSTEMD_ARCHITECTURES, type SystemdArch } from "../base/arch.js";

/**
 * An architecture as `--arch` takes it: systemd's name or a known alias (amd64, x86_64, aarch64, ...),
 * normalised to systemd's spelling (what ARCHITECTURE= must say).
 */
export const architectureName = z
  .enum([...SYSTEMD_ARCHITECTURES, ...Object.keys(ARCH_ALIASES)] as [string, ...string[]], {
    error: () =>
      `must be an architecture such as ${SYSTEMD_ARCHITECTURES.slice(0, 6).join(", ")} (systemd's names) or an alias such as amd64, x86_64, aarch64`,
  })
  .transform((a) => lookupArch(a) as SystemdArch);

const archName = architectureName;

/** Octal mode as a string ("0644", "755"); YAML would read a bare 0644 as decimal 644. */
const mode = z.string().regex(/^0?[0-7]{3,4}$/, {
  message: 'mode must be an octal string such as "0644" or "0755" (quote it in YAML)',
});

const extName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, {
    message: "must start with a letter or digit and contain only letters, digits, '.', '_', '+', '-'",
  })
  .max(200);

const conflict = z.enum(["error", "replace", "keep"]).default("error");

/** Conditions on variables: every key must equal (or be one of) the given values for the source to apply. */
const when = z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional();

const common = {
  /** Destination prefix inside the image for this source ("/" = image root). */
  to: z.string().default("/"),
  onConflict: conflict,
  when,
  /** Paths (globs relative to the source root) to leave out. */
  exclude: z.array(z.string()).default([]),
};

const dirSource = z.strictObject({ type: z.literal("directory"), path: z.string().min(1), ...common });

const tarSource = z.strictObject({
  type: z.literal("tar"),
  path: z.string().min(1),
  /** Leading path components to strip from member names. */
  strip: z.int().min(0).default(0),
  ...common,
});

const fileSource = z
  .strictObject({
    type: z.literal("file"),
    /** Destination path of the file inside the image. */
    path: z.string().min(1),
    /** Inline content. */
    content: z.string().optional(),
    /** Or a file to copy, relative to the spec file. */
    from: z.string().optional(),
    mode: mode.default("0644"),
    onConflict: conflict,
    when,
  })
  .refine((s) => (s.content === undefined) !== (s.from === undefined), {
    message: "a file source needs exactly one of 'content' or 'from'",
  });

const symlinkSource = z.strictObject({
  type: z.literal("symlink"),
  path: z.string().min(1),
  target: z.string().min(1),
  onConflict: conflict,
  when,
});

const templateSource = z.strictObject({
  type: z.literal("template"),
  /** Template file, relative to the templates directory (or to the spec file with ./). */
  template: z.string().min(1),
  /** Destination path inside the image. */
  path: z.string().min(1),
  mode: mode.default("0644"),
  vars: z.record(z.string(), z.string()).default({}),
  onConflict: conflict,
  when,
});

const debSource = z.strictObject({
  type: z.literal("deb"),
  /** Package names, resolved to <dir>/<name>_*_<arch|all>.deb, or paths to .deb files. */
  packages: z.array(z.string().min(1)).min(1),
  /** Directory holding the .deb files (relative to the spec file); variables allowed. */
  dir: z.string().default("${debDir}"),
  /** The package whose version becomes SYSEXT_VERSION_ID (default: the first package). */
  versionFrom: z.string().optional(),
  /** Skip the dependency check against the base package database. */
  skipDependencyCheck: z.boolean().default(false),
  onConflict: conflict,
  when,
  exclude: z.array(z.string()).default([]),
});

const rpmSource = z
  .strictObject({
    type: z.literal("rpm"),
    /** Package names, resolved to the newest <dir>/<name>-*.<arch|noarch>.rpm by their headers, or paths to .rpm files. */
    packages: z.array(z.string().min(1)).default([]),
    /** Directory holding the .rpm files (relative to the spec file, default: its directory); variables allowed. */
    dir: z.string().default("."),
    /** Also take every other package in `dir` (the dependencies `dnf download --resolve` fetched). */
    allInDir: z.boolean().default(false),
    /** The package whose version-release becomes SYSEXT_VERSION_ID (default: the first package). */
    versionFrom: z.string().optional(),
    /** Skip the dependency check against the base's rpm database. */
    skipDependencyCheck: z.boolean().default(false),
    onConflict: conflict,
    when,
    exclude: z.array(z.string()).default([]),
  })
  .refine((s) => s.packages.length > 0 || s.allInDir, {
    message: "an rpm source needs 'packages' (names or .rpm paths) or 'allInDir: true'",
  });

export const sourceSchema = z.discriminatedUnion("type", [
  dirSource,
  tarSource,
  fileSource,
  symlinkSource,
  templateSource,
  debSource,
  rpmSource,
]);

const relocateRule = z.strictObject({
  /** Path (or glob) in the assembled tree. */
  from: z.string().min(1),
  /** New place under usr/ or opt/. */
  to: z.string().min(1),
  /** Recreate the old path at runtime: "setup-unit" (tmpfiles-like links made by a setup service), "none". */
  link: z.enum(["setup-unit", "none"]).default("none"),
  /** Apply the rule only when these variables match (like a source's `when`), e.g. { input: [dir, tar] }. */
  when,
});

export const extensionSpecSchema = z.strictObject({
  $schema: z.string().optional(),
  /** The sysext NAME: image file <name>.raw and extension-release.<name>. */
  name: extName,
  /** Free variables for ${...} interpolation in sources; CLI --var overrides. */
  vars: z.record(z.string(), z.string()).default({}),
  metadata: z
    .strictObject({
      /** SYSEXT_ID (default: name). */
      id: z.string().optional(),
      /** SYSEXT_NAME: display name. */
      displayName: z.string().optional(),
      /** SYSEXT_VERSION_ID: version of the bundled tools (default: from the main package). */
      version: z
        .string()
        .regex(/^[A-Za-z0-9._+~:-]+$/, { message: "version may only contain letters, digits and ._+~:-" })
        .optional(),
      homeUrl: z.url().optional(),
      bugReportUrl: z.url().optional(),
    })
    .default({}),
  /** OEM identity written to usr/share/oem/oem-release (Flatcar's /oem/oem-release content). */
  oem: z
    .strictObject({
      id: z.string().regex(/^[a-z0-9._-]+$/),
      name: z.string().optional(),
      versionId: z.string().optional(),
      homeUrl: z.url().optional(),
      bugReportUrl: z.url().optional(),
      /** Where in the image the oem-release file goes. */
      path: z.string().default("usr/share/oem/oem-release"),
    })
    .optional(),
  /** Architectures the extension supports (omit: any). */
  architectures: z.array(archName).min(1).optional(),
  base: z
    .strictObject({
      /** Base IDs this extension supports (empty: any). */
      ids: z.array(z.string()).default([]),
      /** semver range that the base VERSION_ID must satisfy, e.g. ">=3815.0.0 <4000.0.0". */
      versions: z.string().optional(),
      /** strict: ID+VERSION_ID; sysext-level: ID+SYSEXT_LEVEL; any: ID=_any (no binding). */
      binding: z.enum(["strict", "sysext-level", "any"]).default("strict"),
      /** SYSEXT_LEVEL to write with binding sysext-level (default: the base's SYSEXT_LEVEL). */
      sysextLevel: z.string().optional(),
    })
    .default({ ids: [], binding: "strict" }),
  release: z
    .strictObject({
      reloadManager: z.boolean().default(true),
      scope: z.array(z.enum(["system", "portable", "initrd"])).optional(),
      restartUnits: z.array(z.string()).default([]),
      reloadOrRestartUnits: z.array(z.string()).default([]),
      /** Set user.extension-release.strict=0 so the image also merges under a versioned file name. */
      nonStrictName: z.boolean().default(false),
      /** Further KEY=value pairs for the release file. */
      extra: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()).default({}),
    })
    .default({
      reloadManager: true,
      restartUnits: [],
      reloadOrRestartUnits: [],
      nonStrictName: false,
      extra: {},
    }),
  sources: z.array(sourceSchema).default([]),
  /** Services started through a multi-user.target drop-in with Upholds= (works without daemon-reload). */
  services: z
    .strictObject({
      upholds: z
        .array(z.string().regex(/^[A-Za-z0-9@._:\\-]+\.(service|socket|timer|path|target)$/))
        .default([]),
      /** The unit whose drop-in directory (<target>.d/) carries the Upholds= line. */
      target: z
        .string()
        .regex(/^[A-Za-z0-9@._:\\-]+\.(target|service|socket|timer|path|mount|slice)$/, {
          message: "must be a unit name such as multi-user.target (no '/')",
        })
        .default("multi-user.target"),
    })
    .default({ upholds: [], target: "multi-user.target" }),
  /** Relocation rules applied after assembly (etc -> usr/share, units to usr/lib/systemd/system). */
  relocate: z.array(relocateRule).default([]),
  /** Content removed after assembly: globs; plus the default strip set unless strip.defaults is false. */
  strip: z
    .strictObject({
      defaults: z.boolean().default(true),
      paths: z.array(z.string()).default([]),
      keep: z.array(z.string()).default([]),
    })
    .default({ defaults: true, paths: [], keep: [] }),
  /** Paths outside usr/ and opt/ that may be dropped silently instead of failing the build. */
  drop: z.array(z.string()).default([]),
  /**
   * SELinux labels (security.selinux xattrs) from the base's policy: "auto" labels when the base root has
   * a policy, "require" fails the build when it has none, "off" never labels.
   */
  selinux: z.enum(["auto", "require", "off"]).default("auto"),
  /** Fold sbin into bin when the base has merged sbin: "auto" (follow the base), true, false. */
  mergeSbin: z.union([z.literal("auto"), z.boolean()]).default("auto"),
  image: z
    .strictObject({
      /** ddi: a GPT disk image with root, root-verity and root-verity-sig partitions (dm-verity, signable). */
      format: z.enum(["squashfs", "erofs", "directory", "ddi"]).default("squashfs"),
      /** ddi only: the file system in the root partition (default erofs, as systemd-repart --make-ddi=sysext). */
      filesystem: z.enum(["erofs", "squashfs"]).optional(),
      /** squashfs/erofs only: "sidecar" writes <name>.verity and <name>.roothash (+ .roothash.p7s when signed). */
      verity: z.enum(["none", "sidecar"]).optional(),
      compression: z.enum(["zstd", "gzip", "xz", "lz4", "lz4hc", "none"]).optional(),
      compressionLevel: z.int().min(1).max(22).optional(),
      /** squashfs block size in bytes (power of two, 4 KiB .. 1 MiB). */
      blockSize: z.int().optional(),
    })
    .default({ format: "squashfs" }),
});

export type ExtensionSpecInput = z.input<typeof extensionSpecSchema>;
export type ExtensionSpec = z.output<typeof extensionSpecSchema>;
export type SourceSpec = z.output<typeof sourceSchema>;
export type ImageFormat = ExtensionSpec["image"]["format"];
export type Compression = NonNullable<ExtensionSpec["image"]["compression"]>;

/** JSON Schema of extension.yaml for editors (yaml-language-server: $schema=...). */
export function extensionJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(extensionSpecSchema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
}
