import { useI18n } from "../../i18n/index.tsx";

type Json = unknown;

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: Json): string {
  if (v === undefined) return "—";
  if (v === null) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * What an audit row changed: for two objects, each field whose value differs (before → after);
 * otherwise the whole before and after.
 */
export function AuditChanges({ before, after }: { before: Json; after: Json }) {
  const { t } = useI18n();
  if (before == null && after == null) return <span className="muted">—</span>;
  if (isRecord(before) || isRecord(after)) {
    const b = isRecord(before) ? before : {};
    const a = isRecord(after) ? after : {};
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter(
      (k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]),
    );
    if (keys.length === 0) return <span className="muted">{t("auditNoChange")}</span>;
    return (
      <dl className="diff">
        {keys.map((k) => (
          <div key={k} className="diff-row">
            <dt>{k}</dt>
            <dd>
              {k in b && <del className="diff-before">{show(b[k])}</del>}
              {k in b && k in a && <span aria-hidden="true"> → </span>}
              {k in a && <ins className="diff-after">{show(a[k])}</ins>}
            </dd>
          </div>
        ))}
      </dl>
    );
  }
  return (
    <span className="mono">
      <del className="diff-before">{show(before)}</del> →{" "}
      <ins className="diff-after">{show(after)}</ins>
    </span>
  );
}
