import type { Kysely } from "kysely";
import type { Database } from "../platform/database/schema.ts";
import { idempotencyCutoff } from "../platform/idempotency.ts";

/** One POST under an Idempotency-Key: whose key, and what the request was. */
export interface KeyedRequest {
  /** "org:<id>", "client:<id>" or "user:<id>". */
  scope: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

export interface StoredResponse {
  status: number;
  contentType: string | null;
  body: string;
}

/** What to do with a keyed request. */
export type KeyClaim =
  /** The key is this request's now: run it, then finish (or release) it. */
  | { kind: "claimed" }
  /** The first request's answer, to send again. */
  | { kind: "replay"; response: StoredResponse }
  /** The first request is still running. */
  | { kind: "in_use" }
  /** The key was used for another request (body, method or path). */
  | { kind: "mismatch"; method: string; path: string };

/**
 * The generic Idempotency-Key table (idempotency_keys, migration 2026-11-29-idempotency):
 * claim a key (insert, or take over one whose claimant died), then store the answer or let the
 * key go. Used by http/idempotency.ts; intent create and transfers keep their keys on their own
 * rows, in the transaction of what they make.
 */
export function createIdempotencyStore(options: {
  db: Kysely<Database>;
  now?: () => Date;
  /**
   * How long a claim holds without an answer: a retry after that runs the request again (the
   * first process is presumed dead). Longer than any request takes. Default 60 s.
   */
  lockMs?: number;
}) {
  const { db } = options;
  const now = options.now ?? (() => new Date());
  const lockMs = options.lockMs ?? 60_000;
  const where = (r: Pick<KeyedRequest, "scope" | "key">) =>
    db.updateTable("idempotency_keys").where("scope", "=", r.scope).where("key", "=", r.key);

  async function claim(r: KeyedRequest): Promise<KeyClaim> {
    const at = now();
    const cutoff = idempotencyCutoff(at);
    // Expired keys go on write (indexed by created_at: in a steady state, a few rows a call).
    await db.deleteFrom("idempotency_keys").where("created_at", "<", cutoff).execute();
    for (let attempt = 0; attempt < 3; attempt++) {
      const inserted = await db
        .insertInto("idempotency_keys")
        .values({
          scope: r.scope,
          key: r.key,
          method: r.method,
          path: r.path,
          request_hash: r.requestHash,
          state: "running",
          locked_until: new Date(at.getTime() + lockMs),
          created_at: at,
        })
        .onConflict((oc) => oc.columns(["scope", "key"]).doNothing())
        .returning("key")
        .executeTakeFirst();
      if (inserted) return { kind: "claimed" };
      const row = await db
        .selectFrom("idempotency_keys")
        .selectAll()
        .where("scope", "=", r.scope)
        .where("key", "=", r.key)
        .executeTakeFirst();
      if (!row) continue; // released or expired in between: try the insert again
      if (new Date(row.created_at) < cutoff) {
        // Expired, not yet deleted: this request makes the key new again.
        const renewed = await where(r)
          .set({
            method: r.method,
            path: r.path,
            request_hash: r.requestHash,
            state: "running",
            locked_until: new Date(at.getTime() + lockMs),
            response_status: null,
            response_content_type: null,
            response_body: null,
            created_at: at,
          })
          .where("created_at", "=", row.created_at)
          .executeTakeFirst();
        if (renewed.numUpdatedRows > 0n) return { kind: "claimed" };
        continue;
      }
      if (row.method !== r.method || row.path !== r.path || row.request_hash !== r.requestHash) {
        return { kind: "mismatch", method: row.method, path: row.path };
      }
      if (row.state === "done") {
        return {
          kind: "replay",
          response: {
            status: row.response_status ?? 200,
            contentType: row.response_content_type,
            body: row.response_body ?? "",
          },
        };
      }
      if (row.locked_until !== null && new Date(row.locked_until) > at) return { kind: "in_use" };
      // The claimant stopped without an answer or a release (a crash): take the key over.
      const taken = await where(r)
        .set({ locked_until: new Date(at.getTime() + lockMs) })
        .where("state", "=", "running")
        .where((eb) =>
          row.locked_until === null
            ? eb("locked_until", "is", null)
            : eb("locked_until", "=", row.locked_until),
        )
        .executeTakeFirst();
      return taken.numUpdatedRows > 0n ? { kind: "claimed" } : { kind: "in_use" };
    }
    return { kind: "in_use" };
  }

  return {
    claim,

    /** The claimed request's answer: what a retry with the key gets from now on. */
    async finish(r: Pick<KeyedRequest, "scope" | "key">, response: StoredResponse) {
      await where(r)
        .set({
          state: "done",
          locked_until: null,
          response_status: response.status,
          response_content_type: response.contentType,
          response_body: response.body,
        })
        .where("state", "=", "running")
        .execute();
    },

    /** The claimed request failed (and so changed nothing): the key may be used again. */
    async release(r: Pick<KeyedRequest, "scope" | "key">) {
      await db
        .deleteFrom("idempotency_keys")
        .where("scope", "=", r.scope)
        .where("key", "=", r.key)
        .where("state", "=", "running")
        .execute();
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
