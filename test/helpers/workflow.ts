// Test helper: run the `run:` steps of a GitHub Actions workflow locally, in order, as the runner would
// (bash -eo pipefail, the workflow's and the step's env, ${{ }} expressions from a table).
import { execa } from "execa";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";

export interface WorkflowStep {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

export interface Workflow {
  readonly env?: Record<string, string>;
  readonly jobs: Record<string, { steps: WorkflowStep[] }>;
}

export async function readWorkflow(file: string): Promise<Workflow> {
  return parse(await readFile(file, "utf8")) as Workflow;
}

/** Replace ${{ expr }} by `values[expr]`; an expression the table does not know is an error. */
export function expand(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    const v = values[expr];
    if (v === undefined) throw new Error(`the local runner does not know \${{ ${expr} }}`);
    return v;
  });
}

/**
 * Commands standing in for the runner image: `sudo` (we are root) and `apt-get` without a private
 * configuration, which must find every package installed already (scripts/setup-debian.sh installs
 * them; the test machine is not changed). apt-get with `-o Dir=...` (a private apt root) is the real one.
 */
export async function runnerShims(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const realApt = "/usr/bin/apt-get";
  const shims: Record<string, string> = {
    sudo: '#!/bin/sh\n[ "$1" = "-E" ] && shift\nexec "$@"\n',
    "apt-get": `#!/bin/sh
for a in "$@"; do case "$a" in Dir=*) exec ${realApt} "$@";; esac; done
case "$1" in
  update) exit 0 ;;
  install)
    shift; missing=""
    for p in "$@"; do
      case "$p" in -*) continue ;; esac
      dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && exit 0
    echo "apt-get (test runner): not installed on this machine:$missing (add to scripts/setup-debian.sh)" >&2
    exit 1 ;;
  *) exec ${realApt} "$@" ;;
esac
`,
  };
  for (const [name, text] of Object.entries(shims)) {
    await writeFile(join(dir, name), text);
    await chmod(join(dir, name), 0o755);
  }
  return dir;
}

/** Run one step's script with bash -eo pipefail in `cwd`; resolves to its output, rejects on failure. */
export async function runStep(
  step: WorkflowStep,
  cwd: string,
  env: Record<string, string>,
  expressions: Readonly<Record<string, string>>,
): Promise<string> {
  const stepEnv = Object.fromEntries(
    Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), expressions)]),
  );
  const r = await execa(
    "bash",
    ["--noprofile", "--norc", "-eo", "pipefail", "-c", expand(step.run!, expressions)],
    {
      cwd,
      env: { ...env, ...stepEnv },
      extendEnv: false,
      reject: false,
      all: true,
    },
  );
  if (r.exitCode !== 0)
    throw new Error(
      `step "${step.name ?? step.run}" failed (exit ${r.exitCode}):\n${String(r.all).slice(-4000)}`,
    );
  return String(r.all);
}
