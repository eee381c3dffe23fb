// Vitest configuration: integration tests run real system tools, so they get generous timeouts.
import { defineConfig } from "vitest/config";

/** Test files that boot QEMU guests (#8): they run after everything else, one file at a time. */
const BOOT_FILES = ["test/boot/*-boot.test.ts", "test/boot/boot.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: "forks",
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ["default", "json"],
    outputFile: { json: ".cache/vitest-report.json" },
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: ["test/**/*.test.ts"],
          exclude: BOOT_FILES,
          fileParallelism: true,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Booted guests: two TCG guests on two cores only slow each other down, and a guest started while
        // another file holds the machine would wait inside its own timeout. So the boot files run alone,
        // in sequence, once every other file has finished (groupOrder 1).
        extends: true,
        test: {
          name: "boot",
          include: BOOT_FILES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
