/**
 * widget.js: the loader embedded by `<script src=".../widget.js" data-widget="KEY" async>`.
 *
 * It renders only the launcher (in a Shadow DOM, so host CSS cannot reach it), installs the page
 * API that queues calls, and loads widget-app.js on first open or when the page is idle.
 */

import { GLOBAL_NAME, type BridgeGlobal, type EmbedSettings, type LoaderContext } from "../lib/boot";
import { adoptCss, svgIcon } from "../lib/shadow";
import { createFacade } from "../lib/facade";
import { OPEN_CHAT, pickLanguage } from "../lib/language";
import { resolveLook } from "../lib/look";
import { bridgeBase } from "../lib/url";
import { CHAT_ICON_PATH, LAUNCHER_CSS } from "./styles";

declare const APP_VERSION: string;

const IDLE_TIMEOUT_MS = 4000;

function readSettings(script: HTMLScriptElement): EmbedSettings {
  const data = script.dataset;
  return {
    widget: data["widget"] ?? "",
    lang: data["lang"] ?? null,
    theme: data["theme"] ?? null,
    position: data["position"] ?? null,
    color: data["color"] ?? null,
    greeting: data["greeting"] ?? null,
    title: data["title"] ?? null,
  };
}

function createLauncher(root: ShadowRoot, label: string): [HTMLButtonElement, HTMLElement] {
  adoptCss(root, LAUNCHER_CSS);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "launcher";
  button.setAttribute("aria-label", label);
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  button.append(svgIcon(CHAT_ICON_PATH), badge);
  root.append(button);
  return [button, badge];
}

function boot(script: HTMLScriptElement): void {
  const settings = readSettings(script);
  if (!settings.widget) {
    console.warn("openline-bridge: the script tag needs data-widget");
    return;
  }
  const base = bridgeBase(script.src);
  let requested = false;
  const loadApp = (): void => {
    if (requested) return;
    requested = true;
    const app = document.createElement("script");
    app.src = new URL(`widget-app.js?v=${APP_VERSION}`, base).href;
    app.async = true;
    document.head.append(app);
  };
  const facade = createFacade((method) => {
    if (method === "open") loadApp();
  });
  const global: BridgeGlobal = facade.api;
  (window as unknown as Record<string, unknown>)[GLOBAL_NAME] = global;

  const mount = (): void => {
    const host = document.createElement("div");
    host.setAttribute("data-openline-bridge", "");
    // Host-page rules marked !important (e.g. `* { font-family: ... !important }`) outrank `:host { all: initial }`
    // and reach the shadow tree by inheritance; an inline !important declaration outranks them in turn.
    host.style.setProperty("all", "initial", "important");
    const look = resolveLook(null, settings);
    host.dataset["position"] = look.position;
    host.style.setProperty("--ob-accent", look.accent);
    host.style.setProperty("--ob-accent-text", look.accentText);
    const root = host.attachShadow({ mode: "open" });
    const lang = pickLanguage(settings.lang, null, navigator.languages ?? [navigator.language]);
    const [launcher, badge] = createLauncher(root, OPEN_CHAT[lang]);
    launcher.addEventListener("click", () => (launcher.getAttribute("aria-expanded") === "true" ? global.close() : global.open()));
    document.body.append(host);
    const context: LoaderContext = { base, settings, host, root, launcher, badge, facade };
    global._boot = context;
    const idle = (window as { requestIdleCallback?: (cb: () => void, opts: { timeout: number }) => number }).requestIdleCallback;
    if (idle) idle(loadApp, { timeout: IDLE_TIMEOUT_MS });
    else setTimeout(loadApp, IDLE_TIMEOUT_MS / 2);
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
}

const current = document.currentScript;
// A second copy of the snippet on the same page must not mount a second widget.
if (current instanceof HTMLScriptElement && !(window as unknown as Record<string, unknown>)[GLOBAL_NAME]) boot(current);
