import { randomUUID } from "node:crypto";
import { z } from "@hono/zod-openapi";
import { type Kysely, sql } from "kysely";
import { createCallbackDelivery } from "../../callbacks/callback-delivery.ts";
import { signatureHeader } from "../../callbacks/signature.ts";
import type { CallbackUrlGuard } from "../../callbacks/url-guard.ts";
import type { WebhookSecrets } from "../../organizations/webhook-secrets.ts";
import { PaymentStatus } from "../../payments/schemas.ts";
import type { Database } from "../../platform/database/schema.ts";

const Iso = z.string().openapi({ description: "ISO 8601" });
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const CALLBACK_STATES = ["pending", "delivered", "failed"] as const;

export const Delivery = z
  .object({
    event_id: z.string(),
    payment_intent_id: z.string(),
    status: PaymentStatus,
    url: z.string(),
    state: z.enum(CALLBACK_STATES),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: Iso,
    delivered_at: Iso.nullable(),
    next_attempt_at: Iso.nullable(),
  })
  .openapi("AdminCallbackDelivery");

export const FailingEndpoint = z
  .object({
    host: z.string(),
    url: z.string(),
    failing_since: Iso,
    failures: z.number().int(),
    last_error: z.string().nullable(),
  })
  .openapi("AdminFailingEndpoint");
export type FailingEndpoint = z.infer<typeof FailingEndpoint>;

export const TestEventResult = z
  .object({
    event_id: z.string(),
    http_status: z.number().int().nullable(),
    duration_ms: z.number().int(),
    response_excerpt: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi("AdminTestEventResult");

/**
 * Studio's view of an organisation's callbacks: every delivery, the endpoints failing now, and a
 * signed test event. Resending an intent's callback is callbacks/callback-service.ts's.
 */
export function createCallbackAdmin(options: {
  db: Kysely<Database>;
  guard: CallbackUrlGuard;
  secrets: WebhookSecrets;
  timeoutMs: number;
  now?: () => Date;
}) {
  const { db } = options;
  const now = options.now ?? (() => new Date());

  return {
    async list(
      orgId: number,
      q: {
        state?: (typeof CALLBACK_STATES)[number] | undefined;
        page_number: number;
        page_size: number;
      },
    ) {
      let base = db.selectFrom("callback_events").where("org_id", "=", orgId);
      if (q.state !== undefined) base = base.where("state", "=", q.state);
      const [rows, count] = await Promise.all([
        base
          .select([
            "id",
            "payment_intent_id",
            "status",
            "url",
            "state",
            "last_error",
            "created_at",
            "delivered_at",
            "next_attempt_at",
          ])
          .select((eb) =>
            eb
              .selectFrom("callback_attempts as a")
              .whereRef("a.event_id", "=", "callback_events.id")
              .select((e) => e.fn.countAll<string>().as("n"))
              .as("attempts"),
          )
          .orderBy("position", "desc")
          .limit(q.page_size)
          .offset((q.page_number - 1) * q.page_size)
          .execute(),
        base.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
      ]);
      return {
        items: rows.map((r) => ({
          event_id: r.id,
          payment_intent_id: r.payment_intent_id,
          status: r.status,
          url: r.url,
          state: r.state,
          attempts: Number(r.attempts ?? 0),
          last_error: r.last_error,
          created_at: r.created_at.toISOString(),
          delivered_at: iso(r.delivered_at),
          next_attempt_at: r.state === "pending" ? r.next_attempt_at.toISOString() : null,
        })),
        total_count: Number(count.n),
        page_number: q.page_number,
        page_size: q.page_size,
      };
    },

    /**
     * URLs whose events are failing now: given up on, or retrying after a failed attempt, since
     * the URL's last successful delivery. Oldest failure first.
     */
    async failingEndpoints(orgId: number): Promise<FailingEndpoint[]> {
      const { rows } = await sql<{
        url: string;
        since: Date;
        failures: string;
        last_error: string | null;
      }>`
        with last_ok as (
          select url, max(delivered_at) as ok from callback_events
          where org_id = ${orgId} and state = 'delivered' group by url)
        select e.url, min(e.run_started_at) as since, count(*) as failures,
          (array_agg(e.last_error order by e.position desc))[1] as last_error
        from callback_events e left join last_ok l on l.url = e.url
        where e.org_id = ${orgId}
          and (e.state = 'failed' or (e.state = 'pending' and e.run_attempts > 0))
          and (l.ok is null or e.run_started_at > l.ok)
        group by e.url
        order by since`.execute(db);
      return rows.map((r) => ({
        host: hostOf(r.url),
        url: r.url,
        failing_since: new Date(r.since).toISOString(),
        failures: Number(r.failures),
        last_error: r.last_error,
      }));
    },

    /**
     * Posts a test event to `url` now, signed with the organisation's webhook secrets exactly as
     * the dispatcher signs status callbacks, through the same SSRF guard. Nothing is stored but
     * the caller's audit row.
     */
    async sendTest(orgId: number, url: string) {
      const at = now();
      const eventId = `test_${randomUUID()}`;
      const body = JSON.stringify({
        type: "test",
        event_id: eventId,
        event_time: Math.floor(at.getTime() / 1000),
        org_id: orgId,
        message: "A test event sent from Stablegate Studio. No payment changed.",
      });
      // A connection pool of its own, closed after: a test is one request, not a stream of them.
      const delivery = createCallbackDelivery({
        guard: options.guard,
        timeoutMs: options.timeoutMs,
        maxResponseBytes: 4096,
        now,
      });
      const signing = await options.secrets.active(orgId);
      const result = await delivery
        .deliver({
          url,
          body,
          headers: {
            "content-type": "application/json",
            "user-agent": "Stablegate-Callbacks/1",
            "x-stablegate-event-id": eventId,
            "x-stablegate-signature": signatureHeader(
              body,
              signing,
              Math.floor(at.getTime() / 1000),
            ),
          },
        })
        .finally(() => delivery.close());
      return {
        event_id: eventId,
        http_status: result.httpStatus,
        duration_ms: result.durationMs,
        response_excerpt: result.excerpt,
        error: result.error,
      };
    },
  };
}

export type CallbackAdmin = ReturnType<typeof createCallbackAdmin>;

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
