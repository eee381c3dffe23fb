// The one writer of generated KEY=value and INI text (release files, oem-release, units, transfers): refuses control characters.
import { SysextError, type ErrorLocation } from "../errors.js";
import { formatEnvValue } from "./env-file.js";

/** Control characters (C0 except TAB, and DEL) can end a line or hide text in a line-based file. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

function refuse(what: string, key: string, value: string, location?: ErrorLocation): never {
  const at = value.search(CONTROL);
  const code = value.charCodeAt(at).toString(16).padStart(2, "0");
  throw new SysextError(
    "SPEC_INVALID",
    `${what}: value of ${key} contains the control character 0x${code} at offset ${at}`,
    {
      ...(location ? { location } : {}),
      hint: "values in generated KEY=value files must be one line of printable text; remove line breaks and control characters",
    },
  );
}

function checkKey(what: string, key: string, location?: ErrorLocation): void {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
    throw new SysextError("SPEC_INVALID", `${what}: ${JSON.stringify(key)} is not a valid key`, {
      ...(location ? { location } : {}),
      hint: "keys are letters, digits and underscores, starting with a letter or underscore",
    });
  }
}

/**
 * One generated KEY=value line: key, value, and optionally the spec field the value came from (named in
 * the error when the value holds a control character).
 */
export type KvEntry = readonly [key: string, value: string, field?: string];

const at = (location: ErrorLocation | undefined, field: string | undefined): ErrorLocation | undefined =>
  field === undefined ? location : { ...location, field };

/**
 * os-release style text (`KEY=value` lines, values quoted only where needed), for extension-release
 * and oem-release. `what` names the file in errors.
 */
export function renderEnvFile(what: string, entries: readonly KvEntry[], location?: ErrorLocation): string {
  let out = "";
  for (const [k, v, field] of entries) {
    checkKey(what, k, at(location, field));
    if (CONTROL.test(v)) refuse(what, k, v, at(location, field));
    out += `${k}=${formatEnvValue(v)}\n`;
  }
  return out;
}

/** One INI section: `[name]` then `Key=value` lines (repeated keys allowed, in order). */
export interface IniSection {
  readonly name: string;
  readonly entries: readonly KvEntry[];
}

/**
 * systemd unit-file style text (units, drop-ins, sysupdate transfers): values are written verbatim,
 * so they must not contain control characters; `comment` lines go first with `# `.
 */
export function renderIni(
  what: string,
  sections: readonly IniSection[],
  comment?: readonly string[],
  location?: ErrorLocation,
): string {
  const parts: string[] = [];
  if (comment && comment.length > 0) {
    for (const c of comment) if (CONTROL.test(c)) refuse(what, "(comment)", c, location);
    parts.push(comment.map((c) => `# ${c}\n`).join(""));
  }
  for (const s of sections) {
    if (!/^[A-Za-z][A-Za-z0-9 -]*$/.test(s.name)) {
      throw new SysextError(
        "SPEC_INVALID",
        `${what}: ${JSON.stringify(s.name)} is not a valid section name`,
        {
          hint: "section names are letters, digits, spaces and dashes",
        },
      );
    }
    let text = `[${s.name}]\n`;
    for (const [k, v, field] of s.entries) {
      checkKey(what, k, at(location, field));
      if (CONTROL.test(v)) refuse(what, k, v, at(location, field));
      text += `${k}=${v}\n`;
    }
    parts.push(text);
  }
  return parts.join("\n");
}

/**
 * A value substituted into generated line-based text outside this writer (the `{{ var }}` of unit and
 * config templates): refused, like every value here, when it holds a control character.
 */
export function checkLineValue(what: string, key: string, value: string, location?: ErrorLocation): void {
  if (CONTROL.test(value)) refuse(what, key, value, location);
}
