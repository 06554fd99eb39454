// npm run size: builds, gzips (zlib level 9) and enforces the budget: loader ≤ 3 KB, loader + app ≤ 35 KB.
import { gzipSync } from "node:zlib";
import { bundle } from "./bundle.mjs";

const LOADER_BUDGET = 3 * 1024;
const TOTAL_BUDGET = 35 * 1024;

const files = await bundle();
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const loader = gz(files["widget.js"]);
const app = gz(files["widget-app.js"]);
const total = loader + app;
console.log(`widget.js       ${files["widget.js"].length} B raw, ${loader} B gzip (budget ${LOADER_BUDGET})`);
console.log(`widget-app.js   ${files["widget-app.js"].length} B raw, ${app} B gzip`);
console.log(`loader + app    ${total} B gzip (budget ${TOTAL_BUDGET})`);
const failures = [];
if (loader > LOADER_BUDGET) failures.push(`loader is ${loader} B gzip, over its ${LOADER_BUDGET} B budget`);
if (total > TOTAL_BUDGET) failures.push(`loader + app is ${total} B gzip, over the ${TOTAL_BUDGET} B budget`);
if (failures.length) {
  console.error(`size budget exceeded: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("size budget ok");
