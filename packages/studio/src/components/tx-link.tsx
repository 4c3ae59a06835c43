import { shortHex } from "../format.ts";

/**
 * A transaction hash, shortened, linking to the chain's block explorer when the API knows one
 * (a sandbox chain has none: the hash alone, whole in `title`).
 */
export function TxLink({ hash, url }: { hash: string | null; url?: string | null }) {
  if (!hash) return <span className="muted">—</span>;
  if (!url) {
    return (
      <span className="mono" title={hash}>
        {shortHex(hash)}
      </span>
    );
  }
  return (
    <a className="mono" href={url} target="_blank" rel="noreferrer" title={hash}>
      {shortHex(hash)}
    </a>
  );
}

/** An address, shortened, whole in `title` (and for screen readers, via the title). */
export function Address({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <span className="mono" title={value}>
      {shortHex(value)}
    </span>
  );
}
