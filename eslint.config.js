// Lint configuration: typescript-eslint recommended rules over sources, tests, examples and benchmarks.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "out/", ".cache/", "schema/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setImmediate: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        AbortController: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Processes start through src/util/exec.ts (spawnTool, runBinary, runTool), which keeps output bytes exact.
    files: ["src/**/*.ts"],
    ignores: ["src/util/exec.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "execa", message: "use spawnTool/runBinary/runTool from src/util/exec.ts" }] },
      ],
    },
  },
);
