/** How the widget's language is chosen; apart from the dictionaries so the loader stays small. */

export type Language = "en" | "ru";

/** The launcher's label (the only text the loader shows). */
export const OPEN_CHAT: Record<Language, string> = { en: "Open chat", ru: "Открыть чат" };

function asLanguage(tag: string | null | undefined): Language | null {
  const primary = (tag ?? "").trim().toLowerCase().split(/[-_]/)[0];
  return primary === "en" || primary === "ru" ? primary : null;
}

/**
 * The language: the page's `data-lang`, else the widget config (unless `auto`), else the first
 * browser language we have, else English.
 */
export function pickLanguage(dataLang: string | null | undefined, configLang: string | null | undefined, browser: readonly string[]): Language {
  const explicit = asLanguage(dataLang) ?? asLanguage(configLang === "auto" ? null : configLang);
  if (explicit) return explicit;
  for (const tag of browser) {
    const lang = asLanguage(tag);
    if (lang) return lang;
  }
  return "en";
}
