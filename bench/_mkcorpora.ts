import { corpus } from "./corpus.js";
for (const n of ["libs", "mixed"] as const) {
  const t0 = Date.now();
  const c = await corpus(n, "/tmp/sysextkit-bench");
  console.log(n, JSON.stringify(c), (Date.now() - t0) / 1000);
}
