// How a finding's hint tells the user to remove or drop a path: spec fields, or command-line flags for spec-less builds.

export interface FixAdvice {
  /** How to leave `glob` out of the image, e.g. `add "etc/os-release" to strip.paths`. */
  remove(glob: string): string;
  /** How to let paths outside usr/ and opt/ go quietly, e.g. `list "etc/**" under drop`. */
  drop(glob: string): string;
}

/** Builds from an extension.yaml: name the spec fields. */
export const SPEC_ADVICE: FixAdvice = {
  remove: (glob) => `add ${JSON.stringify(glob)} to strip.paths`,
  drop: (glob) => `list ${JSON.stringify(glob)} under drop`,
};

/** Builds without a spec (`build --name --dir ...`): name the command-line flag that does the same. */
export function flagAdvice(flag: string): FixAdvice {
  const quote = (g: string) => (/^[\w./-]+$/.test(g) ? g : `'${g.replace(/'/g, "'\\''")}'`);
  return {
    remove: (glob) => `pass ${flag} ${quote(glob)}`,
    drop: (glob) => `pass ${flag} ${quote(glob)}`,
  };
}
