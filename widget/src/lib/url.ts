/** Link targets the widget is willing to put into an `href` (protocol §4.2). */

const ALLOWED_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
// Control characters and whitespace inside a URL are how scheme filters get bypassed ("java\tscript:").
const UNSAFE_CHARS = /[\u0000-\u0020\u007f-\u009f]/;

/** The normalised URL if `candidate` is an absolute http(s) or mailto URL, else null. */
export function safeHref(candidate: unknown): string | null {
  if (typeof candidate !== "string") return null;
  const trimmed = candidate.trim();
  if (trimmed === "" || trimmed.length > 2048 || UNSAFE_CHARS.test(trimmed)) return null;
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return null;
  }
  if (!ALLOWED_PROTOCOLS.has(parsed.protocol)) return null;
  if (parsed.protocol !== "mailto:" && parsed.hostname === "") return null;
  return parsed.href;
}

/**
 * The bridge's base URL: the directory of the loader's `src`, so `widget-app.js` and the API are
 * found next to it even when the bridge is mounted under a path prefix.
 */
export function bridgeBase(scriptSrc: string): string {
  return new URL(".", scriptSrc).href;
}

/** The WebSocket URL of the live route, for when the session response gives none. */
export function liveUrlFor(base: string): string {
  const url = new URL("api/v1/conversation/live", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}
