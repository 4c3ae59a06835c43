import type { PGlite } from "@electric-sql/pglite";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import type { Database } from "./schema.ts";

/**
 * What a listener is told. `message` for each notification on its topic; `reset` when
 * notifications may have been missed (the listening connection was lost and is back), so a cache
 * must be dropped and a sleeping loop should look for work.
 */
export interface NotificationHandler {
  message(payload: string): void;
  reset?(): void;
}

/**
 * LISTEN/NOTIFY between the gateway's processes (and within one). A topic is scoped to the
 * database schema, so processes on one server in different schemas (tests) do not hear each other.
 */
export interface Notifications {
  /** Starts listening; resolves once LISTEN is in effect. The result stops this handler. */
  listen(topic: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const topicPattern = /^[a-z][a-z0-9_]{0,30}$/;

function channelOf(schema: string, topic: string): string {
  if (!topicPattern.test(topic)) throw new Error(`invalid notification topic ${topic}`);
  return `sg_${schema}_${topic}`;
}

/**
 * Sends `payload` to the listeners of `topic` in this schema. Inside a transaction it is delivered
 * at commit and dropped on rollback, which is what a writer wants: nobody wakes for work that was
 * never written. The schema is read from the session's search_path, so no handle is needed.
 */
export async function notify(db: Kysely<Database>, topic: string, payload = ""): Promise<void> {
  await sql`select ${notifyCall(topic, payload)}`.execute(db);
}

/**
 * notify()'s call as an expression, for a writer that sends it in the statement that writes the
 * work (`with w as (insert ... returning 1) select <this> from w`): no round trip of its own.
 */
export function notifyCall(topic: string, payload = "") {
  if (!topicPattern.test(topic)) throw new Error(`invalid notification topic ${topic}`);
  return sql`pg_notify('sg_' || current_schema() || '_' || ${topic}, ${payload})`;
}

class Listeners {
  readonly #byChannel = new Map<string, Set<NotificationHandler>>();

  add(channel: string, handler: NotificationHandler): boolean {
    const set = this.#byChannel.get(channel);
    if (set) set.add(handler);
    else this.#byChannel.set(channel, new Set([handler]));
    return !set;
  }

  /** True when the channel has no handler left. */
  remove(channel: string, handler: NotificationHandler): boolean {
    const set = this.#byChannel.get(channel);
    set?.delete(handler);
    if (set && set.size === 0) this.#byChannel.delete(channel);
    return !this.#byChannel.has(channel);
  }

  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  deliver(channel: string, payload: string): void {
    for (const h of this.#byChannel.get(channel) ?? []) safely(() => h.message(payload));
  }

  reset(): void {
    for (const set of this.#byChannel.values()) for (const h of set) safely(() => h.reset?.());
  }
}

function safely(f: () => void): void {
  try {
    f();
  } catch {
    // A listener's failure is its own; the others still hear.
  }
}

/**
 * PGlite is one session: LISTEN runs through kysely (the dialect's queue), so it never lands
 * inside another caller's open transaction, where a rollback would undo it.
 */
export function createPgliteNotifications(
  client: PGlite,
  db: Kysely<Database>,
  schema: string,
): Notifications {
  const listeners = new Listeners();
  const off = client.onNotification((channel, payload) => listeners.deliver(channel, payload));
  return {
    async listen(topic, handler) {
      const channel = channelOf(schema, topic);
      if (listeners.add(channel, handler)) await sql.raw(`listen ${channel}`).execute(db);
      return async () => {
        if (listeners.remove(channel, handler)) {
          await sql
            .raw(`unlisten ${channel}`)
            .execute(db)
            .catch(() => {});
        }
      };
    },
    async close() {
      off();
    },
  };
}

/**
 * PostgreSQL: one dedicated connection per process holds the LISTENs (a pooled one would be
 * handed back). When it drops, it is reopened with a backoff, every LISTEN is renewed, and the
 * handlers are told to reset, since what was sent meanwhile is lost.
 */
export function createPostgresNotifications(url: string, schema: string): Notifications {
  const listeners = new Listeners();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  let retryMs = 100;
  let retryTimer: NodeJS.Timeout | undefined;
  // LISTEN and UNLISTEN one after another: services start listening at once, and pg queues a
  // query sent while another runs only with a deprecation warning (an error in pg 9).
  let inFlight: Promise<unknown> = Promise.resolve();
  function send(c: pg.Client, text: string): Promise<unknown> {
    const sent = inFlight.then(() => c.query(text));
    inFlight = sent.catch(() => {});
    return sent;
  }

  async function open(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url });
    c.on("notification", (n) => listeners.deliver(n.channel, n.payload ?? ""));
    c.on("error", () => lost(c));
    c.on("end", () => lost(c));
    await c.connect();
    for (const channel of listeners.channels()) await c.query(`listen ${channel}`);
    return c;
  }

  function connect(): Promise<pg.Client> {
    connecting ??= open().then(
      (c) => {
        if (closed) {
          void c.end().catch(() => {});
          throw new Error("notifications closed");
        }
        client = c;
        connecting = undefined;
        retryMs = 100;
        return c;
      },
      (err) => {
        connecting = undefined;
        throw err;
      },
    );
    return connecting;
  }

  function lost(c: pg.Client): void {
    if (client !== c) return;
    client = undefined;
    void c.end().catch(() => {});
    if (!closed) reconnect();
  }

  function reconnect(): void {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().then(
        () => listeners.reset(),
        () => {
          retryMs = Math.min(retryMs * 2, 5000);
          reconnect();
        },
      );
    }, retryMs);
    retryTimer.unref();
  }

  return {
    async listen(topic, handler) {
      const channel = channelOf(schema, topic);
      const first = listeners.add(channel, handler);
      try {
        const c = client ?? (await connect());
        if (first) await send(c, `listen ${channel}`);
      } catch (err) {
        listeners.remove(channel, handler);
        throw err;
      }
      return async () => {
        if (listeners.remove(channel, handler)) {
          if (client) await send(client, `unlisten ${channel}`).catch(() => {});
        }
      };
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const c = client ?? (await connecting?.catch(() => undefined));
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
