/** The widget's look: server config (protocol §6.1) overridden by the embed's data attributes. */

import type { EmbedSettings } from "./boot";
import { parseHex, textOn } from "./color";
import type { WidgetConfig } from "./protocol";

export type Theme = "auto" | "light" | "dark";
export type Position = "left" | "right";

export interface Look {
  theme: Theme;
  position: Position;
  accent: string;
  accentText: string;
  title: string;
  greeting: string;
}

export const DEFAULT_ACCENT = "#0b57d0";

function oneOf<T extends string>(allowed: readonly T[], ...candidates: (string | null | undefined)[]): T | null {
  for (const candidate of candidates) {
    const value = (candidate ?? "").trim().toLowerCase();
    if ((allowed as readonly string[]).includes(value)) return value as T;
  }
  return null;
}

function firstText(...candidates: (string | null | undefined)[]): string {
  for (const candidate of candidates) if (candidate && candidate.trim()) return candidate.trim();
  return "";
}

/** Resolve the look; invalid values fall back to the next source, then to defaults. */
export function resolveLook(config: Partial<WidgetConfig> | null, settings: Partial<EmbedSettings>): Look {
  const accent = parseHex(settings.color) ?? parseHex(config?.accent_color) ?? DEFAULT_ACCENT;
  return {
    theme: oneOf(["auto", "light", "dark"] as const, settings.theme, config?.theme) ?? "auto",
    position: oneOf(["left", "right"] as const, settings.position, config?.position) ?? "right",
    accent,
    accentText: textOn(accent),
    title: firstText(settings.title, config?.title),
    greeting: firstText(settings.greeting, config?.greeting),
  };
}
