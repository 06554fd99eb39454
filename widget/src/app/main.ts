/** widget-app.js: picks up the loader's context and attaches the real page API. */

import { GLOBAL_NAME, type BridgeGlobal } from "../lib/boot";
import { WidgetApp } from "./controller";

function attach(): boolean {
  const global = (window as unknown as Record<string, BridgeGlobal | undefined>)[GLOBAL_NAME];
  const context = global?._boot;
  if (!context) return false;
  const app = new WidgetApp(context);
  context.facade.attach(app);
  app.start();
  return true;
}

// The loader mounts on DOMContentLoaded when it ran before <body> existed; wait for it then.
if (!attach()) document.addEventListener("DOMContentLoaded", () => void attach(), { once: true });
