import type { Kysely } from "kysely";
import { LRUCache } from "lru-cache";
import { type Notifications, notify } from "../platform/database/notifications.ts";
import type { Database } from "../platform/database/schema.ts";

/** The topic on which a writer tells every process that an organisation's tenancy changed. */
export const TENANCY_TOPIC = "tenancy";

// After this process's own change, its organisation is read from the database, not cached, for
// this long: until the change has committed and its notification is surely back. A write that
// rolled back costs nothing more than these few uncached reads.
const OWN_CHANGE_MS = 2_000;

export interface TenancyCacheOptions {
  /** At most this many entries (keys, clients, organisations); 0 turns the cache off. */
  maxEntries: number;
  /** An entry is read again after this long even if no notification came: the safety net. */
  maxAgeMs: number;
  now?: () => number;
}

interface Entry {
  orgId: number;
  value: object;
}

/**
 * What every API request reads about its caller (API key → organisation, client, the
 * organisation's defaults), kept in memory and dropped across processes by LISTEN/NOTIFY.
 *
 * Every writer of what is cached calls `changed()` in its transaction. Correctness rests on two
 * rules: nothing is cached before `listen()` is in effect (a process that does not hear changes
 * reads the database), and a read that raced with a change is not stored (the generation).
 */
export interface TenancyCache {
  /**
   * The entry under `key`, or what `load` reads (undefined: not found, never cached). The loaded
   * value is stored unless a change reached this process while it was being read.
   */
  get<T extends object>(
    key: string,
    load: () => Promise<{ orgId: number; value: T } | undefined>,
  ): Promise<T | undefined>;
  /**
   * Called by a writer inside the transaction that changes an organisation's keys, clients,
   * suspension or defaults: every process drops that organisation's entries when it commits,
   * this one at once.
   */
  changed(db: Kysely<Database>, orgId: number): Promise<void>;
  /** Starts hearing other processes' changes; until then nothing is cached. */
  listen(notifications: Notifications): Promise<() => Promise<void>>;
}

export function createTenancyCache(options: TenancyCacheOptions): TenancyCache {
  const now = options.now ?? Date.now;
  const entries =
    options.maxEntries > 0
      ? new LRUCache<string, Entry>({
          max: options.maxEntries,
          ttl: options.maxAgeMs,
          perf: { now },
        })
      : undefined;
  let listening = 0;
  // Bumped by every drop: a load that began before it may have read what the change replaced.
  let generation = 0;
  const ownChanges = new Map<number, number>();

  function drop(orgId: number | undefined): void {
    generation++;
    if (!entries) return;
    if (orgId === undefined) {
      entries.clear();
      return;
    }
    const stale: string[] = [];
    for (const [key, entry] of entries.entries()) if (entry.orgId === orgId) stale.push(key);
    for (const key of stale) entries.delete(key);
  }

  function recentlyChangedHere(orgId: number): boolean {
    const until = ownChanges.get(orgId);
    if (until === undefined) return false;
    if (until > now()) return true;
    ownChanges.delete(orgId);
    return false;
  }

  return {
    async get<T extends object>(
      key: string,
      load: () => Promise<{ orgId: number; value: T } | undefined>,
    ): Promise<T | undefined> {
      const hit = listening > 0 ? entries?.get(key) : undefined;
      if (hit) return hit.value as T;
      const before = generation;
      const loaded = await load();
      if (!loaded) return undefined;
      if (entries && listening > 0 && generation === before && !recentlyChangedHere(loaded.orgId)) {
        entries.set(key, loaded);
      }
      return loaded.value;
    },

    async changed(db, orgId) {
      await notify(db, TENANCY_TOPIC, String(orgId));
      ownChanges.set(orgId, now() + OWN_CHANGE_MS);
      drop(orgId);
    },

    async listen(notifications) {
      const stop = await notifications.listen(TENANCY_TOPIC, {
        message(payload) {
          const orgId = Number(payload);
          drop(Number.isSafeInteger(orgId) && payload !== "" ? orgId : undefined);
        },
        // Changes may have been missed while the connection was down.
        reset: () => drop(undefined),
      });
      listening++;
      return async () => {
        listening--;
        drop(undefined);
        await stop();
      };
    },
  };
}
