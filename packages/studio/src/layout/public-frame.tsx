import type { ReactNode } from "react";
import { SelectField } from "../components/ui.tsx";
import { LANGUAGES, type Language, useI18n } from "../i18n/index.tsx";

/** The frame of the pages before sign-in: a centred card with the brand and the language. */
export function PublicFrame({ title, children }: { title: string; children: ReactNode }) {
  const { t } = useI18n();
  return (
    <div className="public">
      <div className="public-top">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true">
            S
          </span>
          {t("brand")}
        </span>
        <LanguageSwitch />
      </div>
      <main id="main" className="public-card">
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}

/** English or 繁體中文, remembered by the browser. */
export function LanguageSwitch() {
  const { t, language, setLanguage } = useI18n();
  return (
    <SelectField<Language>
      className="language-switch"
      label={t("language")}
      hideLabel
      value={language}
      options={LANGUAGES.map((l) => ({ id: l.code, label: l.label }))}
      onChange={setLanguage}
    />
  );
}
