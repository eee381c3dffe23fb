// What the guest probe wrote to the report disk, parsed into data (sections, unit properties, conditions).
import { open } from "node:fs/promises";

export interface Section {
  readonly rc: number;
  readonly text: string;
}

/** Report disk content: "NAME RC BASE64" lines up to the first NUL (the rest of the disk is zero). */
export function parseSections(raw: string): Map<string, Section> {
  const out = new Map<string, Section>();
  const end = raw.indexOf("\0");
  for (const line of (end >= 0 ? raw.slice(0, end) : raw).split("\n")) {
    const m = /^(\S+) (\d+) ([A-Za-z0-9+/=]*)$/.exec(line);
    if (!m) continue;
    out.set(m[1]!, { rc: Number(m[2]), text: Buffer.from(m[3]!, "base64").toString("utf8") });
  }
  return out;
}

/** Read the report disk (at most `limit` bytes; the probe writes from the start). */
export async function readReportDisk(path: string, limit = 16 * 1024 * 1024): Promise<Map<string, Section>> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(limit);
    const { bytesRead } = await fh.read(b, 0, limit, 0);
    return parseSections(b.subarray(0, bytesRead).toString("latin1"));
  } finally {
    await fh.close();
  }
}

/** `systemctl show` output: KEY=value lines. */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** os-release text as a record (quotes removed). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}

/** The first number of /proc/uptime, in ms. */
export function uptimeMs(text: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)/m.exec(text?.split("\n").filter(Boolean).at(-1) ?? "");
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

export interface Condition {
  readonly type: string;
  readonly trigger: boolean;
  readonly negate: boolean;
  readonly parameter: string;
  /** 1 met, -1 not met, 0 not tested. */
  readonly state: number;
}

/** busctl --json=short get-property ... Conditions Asserts: one JSON object per property, a(sbbsi). */
export function parseConditions(text: string): Condition[] {
  const out: Condition[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const v = JSON.parse(line) as { data?: unknown };
      if (!Array.isArray(v.data)) continue;
      for (const c of v.data as unknown[]) {
        if (!Array.isArray(c) || c.length < 5) continue;
        out.push({
          type: String(c[0]),
          trigger: c[1] === true,
          negate: c[2] === true,
          parameter: String(c[3]),
          state: Number(c[4]),
        });
      }
    } catch {
      // not JSON: busctl failed (the unit does not exist); no conditions
    }
  }
  return out;
}

/** "ConditionVirtualization=!microsoft", as in a unit file. */
export function conditionText(c: Condition): string {
  return `${c.type}=${c.trigger ? "|" : ""}${c.negate ? "!" : ""}${c.parameter}`;
}

/**
 * The extensions merged into /usr: `systemd-sysext status --json=short` when the guest has it
 * (systemd 252: [{"hierarchy":"/usr","extensions":["a","b"],...}], "none" when nothing), else the text table.
 */
export function parseMerged(json: Section | undefined, text: Section | undefined): string[] {
  if (json && json.rc === 0) {
    try {
      const rows = JSON.parse(json.text) as Array<{ hierarchy?: string; extensions?: unknown }>;
      const usr = rows.find((r) => r.hierarchy === "/usr");
      if (usr && Array.isArray(usr.extensions)) return usr.extensions.map(String);
      if (usr) return [];
    } catch {
      // fall through to the text form
    }
  }
  if (!text) return [];
  // HIERARCHY EXTENSIONS SINCE: "/usr      a          Mon 2025-...", continuation lines name more.
  const names: string[] = [];
  let inUsr = false;
  for (const line of text.text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols[0]?.startsWith("/")) {
      inUsr = cols[0] === "/usr";
      if (inUsr && cols[1] && cols[1] !== "none") names.push(cols[1]);
    } else if (inUsr && cols[0] && !/^HIERARCHY$/.test(cols[0])) names.push(cols[0]);
  }
  return names;
}

/** Non-empty lines. */
export function lines(text: string | undefined): string[] {
  return (text ?? "").split("\n").filter((l) => l.trim() !== "");
}
