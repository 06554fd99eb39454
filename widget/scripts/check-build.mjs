// npm run check: the committed bundles must equal a fresh build (the Python package serves them as is).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { STATIC_DIR, bundle } from "./bundle.mjs";

const stale = [];
for (const [name, fresh] of Object.entries(await bundle())) {
  const committed = await readFile(join(STATIC_DIR, name)).catch(() => null);
  if (committed === null || !Buffer.from(fresh).equals(committed)) stale.push(name);
}
if (stale.length) {
  console.error(`stale or missing in ${STATIC_DIR}: ${stale.join(", ")} — run \`npm run build\` and commit the result`);
  process.exit(1);
}
console.log("committed bundles match a fresh build");
