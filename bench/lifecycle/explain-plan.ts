import { CompiledQuery, type Kysely } from "kysely";

const PLAN_NODE =
  /^(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Bitmap Index Scan|Update on|Insert on|Delete on|Sort|Limit|LockRows|Nested Loop|Hash Join|Merge Join|Aggregate|SubPlan|InitPlan)/;

/**
 * The plan of a statement the gateway ran, with the parameters it last ran with, as one line of
 * its nodes (which scans, on which indexes). EXPLAIN without ANALYZE: nothing is executed.
 */
export async function explainPlan(
  db: Kysely<unknown>,
  statement: string,
  params: unknown[],
): Promise<string> {
  if (!/^\s*(select|insert|update|delete|with)\b/i.test(statement)) return "";
  try {
    const { rows } = await db.executeQuery<{ "QUERY PLAN": string }>(
      CompiledQuery.raw(`explain ${statement}`, params),
    );
    return (
      rows
        .map((r) => r["QUERY PLAN"].trim().replace(/^->\s*/, ""))
        // Node lines only, not their details (Sort Key:, Index Cond:, Filter:).
        .filter((l) => PLAN_NODE.test(l) && !/^[A-Za-z ]+:/.test(l))
        .map((l) => l.replace(/\s*\(cost=.*$/, ""))
        .join(" > ")
    );
  } catch (err) {
    return `(explain failed: ${(err as Error).message})`;
  }
}
