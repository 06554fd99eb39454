// npm run build: writes the loader and the app chunk into the Python package's static folder.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { STATIC_DIR, bundle } from "./bundle.mjs";

const files = await bundle();
await mkdir(STATIC_DIR, { recursive: true });
for (const [name, bytes] of Object.entries(files)) {
  await writeFile(join(STATIC_DIR, name), bytes);
  console.log(`wrote ${join(STATIC_DIR, name)} (${bytes.length} bytes)`);
}
