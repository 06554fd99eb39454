// npm test: compiles the pure logic modules with esbuild, then runs node's built-in test runner.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { WIDGET_DIR } from "./bundle.mjs";

await esbuild.build({
  entryPoints: [join(WIDGET_DIR, "src", "lib", "index.ts")],
  outfile: join(WIDGET_DIR, ".test-build", "lib.mjs"),
  bundle: true,
  format: "esm",
  platform: "node",
  target: ["node20"],
  logLevel: "warning",
});
const testDir = join(WIDGET_DIR, "test");
const files = readdirSync(testDir)
  .filter((name) => name.endsWith(".test.mjs"))
  .sort()
  .map((name) => join(testDir, name));
const run = spawnSync(process.execPath, ["--test", ...files], { stdio: "inherit" });
process.exit(run.status ?? 1);
