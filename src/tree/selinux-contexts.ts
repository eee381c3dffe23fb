// SELinux file contexts: parse file_contexts (+ .homedirs, .local, .subs) and look paths up as libselinux's matchpathcon does.
import { readFile } from "node:fs/promises";
import { SysextError } from "../errors.js";
import type { EntryType } from "./types.js";

/** File type field of a spec ("--" regular file, "-d" directory, ...) to the entry types it matches. */
const TYPE_FIELD: Readonly<Record<string, EntryType>> = {
  "--": "file",
  "-d": "dir",
  "-l": "symlink",
  "-c": "char",
  "-b": "block",
  "-p": "fifo",
  "-s": "socket",
};

const META = ".^$?*+|[({";

interface Spec {
  readonly regex: string;
  readonly type: EntryType | undefined;
  /** The context, or undefined for <<none>> (the path is not labelled). */
  readonly context: string | undefined;
  readonly hasMeta: boolean;
  /** First path component ("/usr") when the regex starts with one free of metacharacters. */
  readonly stem: string | undefined;
  /** Literal text every match starts with: a cheap test before the regular expression. */
  readonly prefix: string;
  compiled?: RegExp;
}

function hasMetaChars(regex: string): boolean {
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i]!;
    if (c === "\\") i++;
    else if (META.includes(c)) return true;
  }
  return false;
}

function stemOfSpec(regex: string): string | undefined {
  const slash = regex.indexOf("/", 1);
  if (slash < 0) return undefined;
  const head = regex.slice(0, slash);
  return [...head].some((c) => META.includes(c)) ? undefined : head;
}

/** The literal start of a regular expression (empty when a top-level alternative could match elsewhere). */
function literalPrefix(regex: string): string {
  let depth = 0;
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i]!;
    if (c === "\\") i++;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) return "";
  }
  let out = "";
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i]!;
    if (c === "\\") {
      const n = regex[i + 1];
      if (n === undefined || /[A-Za-z0-9]/.test(n)) break;
      if ("?*{".includes(regex[i + 2] ?? "")) break;
      out += n;
      i++;
      continue;
    }
    if (META.includes(c)) {
      // A quantifier makes the character before it optional.
      if (c === "?" || c === "*" || c === "{") out = out.slice(0, -1);
      break;
    }
    out += c;
  }
  return out;
}

function stemOfPath(path: string): string | undefined {
  const slash = path.indexOf("/", 1);
  return slash < 0 ? undefined : path.slice(0, slash);
}

/** POSIX bracket classes (PCRE knows them, JavaScript does not). */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: "A-Za-z",
  digit: "0-9",
  alnum: "A-Za-z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: " \\t\\n\\r\\f\\v",
  xdigit: "0-9A-Fa-f",
  punct: "!-\\/:-@\\[-`{-~",
};

function compile(s: Spec, file: string): RegExp {
  if (s.compiled) return s.compiled;
  const source = s.regex.replace(/\[:([a-z]+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m);
  try {
    s.compiled = new RegExp(`^(?:${source})$`, "s");
  } catch (e) {
    throw new SysextError(
      "BASE_INVALID",
      `file context ${JSON.stringify(s.regex)} in ${file} is not a valid regular expression`,
      {
        cause: e,
        location: { file },
        hint: "the base's SELinux policy is damaged; rebuild it (semodule -B) or set 'selinux: off' in the spec",
      },
    );
  }
  return s.compiled;
}

/** Path aliases from file_contexts.subs_dist / .subs: "/aliased /original". */
type Subs = ReadonlyArray<readonly [string, string]>;

function applySubs(path: string, subs: Subs): string {
  for (const [from, to] of subs) {
    if (path === from) return to;
    if (path.startsWith(`${from}/`)) return to + path.slice(from.length);
  }
  return path;
}

/** A loaded set of file contexts. */
export class FileContexts {
  readonly #specs: Spec[];
  /** Spec indexes by literal prefix: only specs whose prefix starts the path can match it. */
  readonly #byPrefix = new Map<string, number[]>();
  readonly #distSubs: Subs;
  readonly #subs: Subs;
  readonly file: string;

  constructor(specs: Spec[], distSubs: Subs, subs: Subs, file: string) {
    // Exact paths (no metacharacters) go after the regular expressions, each group in file order:
    // searching from the end, an exact path wins, then the last matching expression.
    this.#specs = [...specs.filter((s) => s.hasMeta), ...specs.filter((s) => !s.hasMeta)];
    this.#specs.forEach((s, i) => {
      const list = this.#byPrefix.get(s.prefix);
      if (list) list.push(i);
      else this.#byPrefix.set(s.prefix, [i]);
    });
    this.#distSubs = distSubs;
    this.#subs = subs;
    this.file = file;
  }

  get size(): number {
    return this.#specs.length;
  }

  /**
   * The context of absolute `path` for an entry of `type`: undefined when no spec matches or the
   * matching spec says <<none>>.
   */
  lookup(path: string, type: EntryType | undefined): string | undefined {
    const key = applySubs(applySubs(path, this.#distSubs), this.#subs);
    const stem = stemOfPath(key);
    const candidates: number[] = [];
    for (let n = 0; n <= key.length; n++) {
      const list = this.#byPrefix.get(key.slice(0, n));
      if (list) for (const i of list) candidates.push(i);
    }
    // The last matching spec wins (exact paths were moved after the regular expressions).
    candidates.sort((a, b) => b - a);
    for (const i of candidates) {
      const s = this.#specs[i]!;
      if (s.stem !== undefined && s.stem !== stem) continue;
      if (type !== undefined && s.type !== undefined && s.type !== type) continue;
      if (compile(s, this.file).test(key)) return s.context;
    }
    return undefined;
  }
}

function parseSpecs(text: string, file: string): Spec[] {
  const specs: Spec[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const f = line.split(/\s+/);
    if (f.length < 2 || f.length > 3 || (f.length === 3 && TYPE_FIELD[f[1]!] === undefined)) {
      throw new SysextError(
        "BASE_INVALID",
        `cannot parse line ${i + 1} of ${file}: ${JSON.stringify(line)}`,
        {
          location: { file, line: i + 1 },
          hint: "lines are 'REGEX [FILE_TYPE] CONTEXT'; the base's SELinux policy is damaged",
        },
      );
    }
    const regex = f[0]!;
    const context = f[f.length - 1]!;
    specs.push({
      regex,
      type: f.length === 3 ? TYPE_FIELD[f[1]!] : undefined,
      context: context === "<<none>>" ? undefined : context,
      hasMeta: hasMetaChars(regex),
      stem: stemOfSpec(regex),
      prefix: literalPrefix(regex),
    });
  });
  return specs;
}

function parseSubs(text: string): Subs {
  const out: Array<[string, string]> = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [from, to] = line.split(/\s+/);
    if (from && to) out.push([from.replace(/\/+$/, ""), to.replace(/\/+$/, "")]);
  }
  return out;
}

const optional = (file: string) => readFile(file, "utf8").catch(() => "");

/** Load `file_contexts` and its companions (.homedirs, .local, .subs_dist, .subs) as libselinux does. */
export async function loadFileContexts(file: string): Promise<FileContexts> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new SysextError(
      "BASE_INVALID",
      `cannot read the SELinux file contexts ${file}: ${(e as Error).message}`,
      {
        cause: e,
        location: { file },
        hint: "make the base's policy readable, or set 'selinux: off' in the spec",
      },
    );
  }
  const specs = [
    ...parseSpecs(text, file),
    ...parseSpecs(await optional(`${file}.homedirs`), `${file}.homedirs`),
    ...parseSpecs(await optional(`${file}.local`), `${file}.local`),
  ];
  return new FileContexts(
    specs,
    parseSubs(await optional(`${file}.subs_dist`)),
    parseSubs(await optional(`${file}.subs`)),
    file,
  );
}
