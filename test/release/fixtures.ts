// Shared fixtures for release and check tests: a spec and a base release built from plain values.
import type { BaseRelease } from "../../src/base/base.js";
import type { SystemdArch } from "../../src/base/arch.js";
import { extensionSpecSchema, type ExtensionSpec, type ExtensionSpecInput } from "../../src/spec/schema.js";

export function makeSpec(over: Partial<ExtensionSpecInput> = {}): ExtensionSpec {
  return extensionSpecSchema.parse({ name: "oem-azure", ...over });
}

export function makeBase(
  over: Partial<Omit<BaseRelease, "fields">> & { arch?: SystemdArch } = {},
): BaseRelease {
  return {
    id: "flatcar",
    versionId: "3815.2.0",
    sysextLevel: undefined,
    idLike: [],
    arch: "x86-64",
    archSource: "explicit",
    fields: {},
    source: "test base",
    root: undefined,
    mergedSbin: undefined,
    ...over,
  };
}
