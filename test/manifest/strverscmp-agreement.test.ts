// strverscmpImproved agrees with `systemd-analyze compare-versions` of systemd 257 (Debian 13) and 262 (unstable), run in their roots.
//
// The strings are sorted by our comparator; systemd must agree on every adjacent pair (equal or older),
// which, systemd's order being total, fixes its order of the whole list; 400 further pairs picked by a
// fixed seed check it directly.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { strverscmpImproved } from "../../src/manifest/strverscmp.js";
import { systemdVersionOf, toolsRoot } from "../helpers/chroot.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { REAL_VERSIONS } from "./versions.js";

needRoot();
await needTools("unshare", "chroot", "debootstrap");

function pairs(): Array<[string, string]> {
  const sorted = [...REAL_VERSIONS].sort(strverscmpImproved);
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < sorted.length; i++) out.push([sorted[i]!, sorted[i + 1]!]);
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let k = 0; k < 400; k++) out.push([sorted[rand(sorted.length)]!, sorted[rand(sorted.length)]!]);
  return out;
}

// compare-versions exits 0 for equal, 12 when the first is older, 11 when it is newer.
const SCRIPT = `
while IFS='|' read -r a b; do
  systemd-analyze compare-versions "$a" "$b" >/dev/null 2>&1
  echo "$?"
done < /root/pairs.txt`;

describe.each(["trixie-tools", "sid-tools"] as const)("version order agrees with %s", (name) => {
  it("systemd-analyze compare-versions on every adjacent and 400 sampled pairs of real versions", async () => {
    expect(REAL_VERSIONS.length).toBeGreaterThanOrEqual(50);
    const root = await toolsRoot(name);
    try {
      const version = await systemdVersionOf(root);
      expect(version).toBe(name === "trixie-tools" ? 257 : 262);
      const list = pairs();
      await mkdir(join(root.upper, "root"), { recursive: true });
      await writeFile(join(root.upper, "root/pairs.txt"), list.map(([a, b]) => `${a}|${b}\n`).join(""));
      const r = await root.run(SCRIPT);
      const codes = r.stdout.trim().split("\n").map(Number);
      expect(codes.length, r.stderr).toBe(list.length);
      const systemd = codes.map((c) => (c === 0 ? 0 : c === 12 ? -1 : c === 11 ? 1 : NaN));
      const ours = list.map(([a, b]) => strverscmpImproved(a, b));
      const differ = list.flatMap(([a, b], i) =>
        systemd[i] === ours[i] ? [] : [`${a} vs ${b}: systemd ${systemd[i]}, ours ${ours[i]}`],
      );
      expect(differ).toEqual([]);
      expect(new Set(systemd)).toEqual(new Set([-1, 0, 1]));
    } finally {
      await root.dispose();
    }
  }, 120_000);
});
