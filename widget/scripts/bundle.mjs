// Builds the two browser bundles in memory; build.mjs, check-build.mjs and check-size.mjs share it.
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const WIDGET_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const STATIC_DIR = join(WIDGET_DIR, "..", "src", "openline_bridge", "channels", "widget", "static");

const COMMON = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  platform: "browser",
  legalComments: "none",
  // ASCII output: the bundle survives a host page or server that mislabels the charset.
  charset: "ascii",
  write: false,
  logLevel: "warning",
};

async function one(entry, define = {}) {
  const result = await esbuild.build({ ...COMMON, entryPoints: [join(WIDGET_DIR, "src", entry)], define });
  return result.outputFiles[0].contents;
}

/** Returns {"widget.js": bytes, "widget-app.js": bytes}; the loader pins the app's content hash. */
export async function bundle() {
  const app = await one("app/main.ts");
  const version = createHash("sha256").update(app).digest("hex").slice(0, 12);
  const loader = await one("loader/main.ts", { APP_VERSION: JSON.stringify(version) });
  return { "widget.js": loader, "widget-app.js": app };
}
