import { createContext, type ReactNode, useContext, useMemo, useState } from "react";
import { en, type MessageKey, type Messages, zhTW } from "./catalogue.ts";

export type { MessageKey };
export type Language = "en" | "zh-TW";

export const LANGUAGES: readonly { code: Language; label: string }[] = [
  { code: "en", label: "English" },
  { code: "zh-TW", label: "繁體中文" },
];

const catalogues: Record<Language, Messages> = { en, "zh-TW": zhTW };
const STORAGE_KEY = "stablegate.studio.language";

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

/** The language chosen before (remembered in localStorage), else the browser's. */
export function initialLanguage(): Language {
  const stored = safeStorage()?.getItem(STORAGE_KEY);
  if (stored === "en" || stored === "zh-TW") return stored;
  for (const tag of navigator.languages) {
    const t = tag.toLowerCase();
    if (t === "en" || t.startsWith("en-")) return "en";
    if (t === "zh" || t.startsWith("zh-")) return "zh-TW";
  }
  return "en";
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function translator(language: Language): Translate {
  const messages = catalogues[language];
  return (key, values) =>
    messages[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      values && name in values ? String(values[name]) : whole,
    );
}

interface I18n {
  language: Language;
  setLanguage(language: Language): void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  const value = useMemo<I18n>(
    () => ({
      language,
      t: translator(language),
      setLanguage(next) {
        safeStorage()?.setItem(STORAGE_KEY, next);
        document.documentElement.lang = next;
        setLanguageState(next);
      },
    }),
    [language],
  );
  document.documentElement.lang = language;
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

/**
 * The current language and its translator.
 *
 * @example
 * const { t } = useI18n();
 * <h1>{t("inviteTitle", { org: invitation.org_name })}</h1>
 */
export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error("useI18n outside I18nProvider");
  return value;
}
