/** Colour arithmetic for WCAG contrast (text on a per-widget accent colour stays ≥ 4.5:1). */

const HEX = /^#([0-9a-f]{6})$/i;

/** `#rrggbb` (lower-case) if valid, else null. */
export function parseHex(value: string | null | undefined): string | null {
  const match = HEX.exec((value ?? "").trim());
  return match ? `#${match[1]!.toLowerCase()}` : null;
}

function channel(value: number): number {
  const s = value / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

/** WCAG relative luminance of `#rrggbb`. */
export function luminance(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

/** WCAG contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const LIGHT_TEXT = "#ffffff";
const DARK_TEXT = "#000000";

/** The text colour (white or black; one of them always reaches 4.5:1) with the higher contrast on `background`. */
export function textOn(background: string): string {
  return contrast(background, LIGHT_TEXT) >= contrast(background, DARK_TEXT) ? LIGHT_TEXT : DARK_TEXT;
}
