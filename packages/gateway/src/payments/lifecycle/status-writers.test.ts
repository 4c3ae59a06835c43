import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// transition() is the only writer of a payment's status, and status-history.ts the only writer
// of its history (creation records the first row through it). Reviews miss a stray
// `.set({ status })`; this scan of the gateway's sources does not.

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const STATUS_WRITER = "payments/lifecycle/transition.ts";
const HISTORY_WRITER = "payments/lifecycle/status-history.ts";
// Creating an intent inserts it at its first status, which can only be pending.
const INTENT_CREATOR = "payments/payment-intent-service.ts";

interface Source {
  file: string;
  text: string;
}

function gatewaySources(): Source[] {
  return (readdirSync(SRC, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"))
    .map((f) => f.split(path.sep).join("/"))
    .sort()
    .map((file) => ({ file, text: readFileSync(path.join(SRC, file), "utf8") }));
}

const RAW_STATUS_UPDATE = /\bupdate\s+payment_intents\b[\s\S]*?\bset\b[\s\S]*?\bstatus\b/i;
const RAW_INTENT_INSERT = /\binsert\s+into\s+payment_intents\b/i;
const RAW_HISTORY_INSERT = /\binsert\s+into\s+payment_intent_status_history\b/i;

/** Every place in `sources` that writes an intent's status or history outside the allowed files. */
function findStatusWriters(sources: readonly Source[]): string[] {
  const found: string[] = [];
  for (const { file, text } of sources) {
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const report = (node: ts.Node, what: string) => {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      found.push(`${file}:${line}: ${what}`);
    };
    const visit = (node: ts.Node): void => {
      const table = queryBuilderTable(node);
      if (table?.method === "updateTable" && table.name === "payment_intents") {
        if (file !== STATUS_WRITER) {
          for (const arg of chainedArguments(node, ["set"])) {
            const problem = statusIn(arg);
            if (problem) report(arg, `updates payment_intents.status (${problem})`);
          }
        }
      } else if (table?.method === "insertInto" && table.name === "payment_intents") {
        for (const arg of chainedArguments(node, ["values"])) {
          const problem = file === INTENT_CREATOR ? statusIn(arg, "pending") : statusIn(arg);
          if (problem) report(arg, `inserts payment_intents with a status (${problem})`);
        }
        for (const arg of chainedArguments(node, ["doUpdateSet"])) {
          const problem = statusIn(arg);
          if (problem) report(arg, `upserts payment_intents.status (${problem})`);
        }
      } else if (table?.method === "insertInto" && table.name === "payment_intent_status_history") {
        if (file !== HISTORY_WRITER) report(node, "inserts payment_intent_status_history");
      } else if (
        ts.isStringLiteral(node) ||
        ts.isNoSubstitutionTemplateLiteral(node) ||
        ts.isTemplateExpression(node)
      ) {
        const sql = node.getText(sf);
        if (RAW_STATUS_UPDATE.test(sql) && file !== STATUS_WRITER) {
          report(node, "updates payment_intents.status in raw SQL");
        }
        if (RAW_INTENT_INSERT.test(sql)) report(node, "inserts payment_intents in raw SQL");
        if (RAW_HISTORY_INSERT.test(sql) && file !== HISTORY_WRITER) {
          report(node, "inserts payment_intent_status_history in raw SQL");
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

/** `x.updateTable("payment_intents as i")` → { method: "updateTable", name: "payment_intents" }. */
function queryBuilderTable(node: ts.Node): { method: string; name: string } | undefined {
  if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return;
  const method = node.expression.name.text;
  if (method !== "updateTable" && method !== "insertInto") return;
  const first = node.arguments[0];
  if (!first || !(ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) return;
  return { method, name: first.text.trim().split(/\s+/)[0] ?? "" };
}

/** The arguments of the named calls chained onto a query builder call: `.set(…)`, `.values(…)`. */
function chainedArguments(start: ts.Node, methods: readonly string[]): ts.Expression[] {
  const args: ts.Expression[] = [];
  let node: ts.Node = start;
  while (ts.isPropertyAccessExpression(node.parent) && node.parent.expression === node) {
    const access = node.parent;
    const call = access.parent;
    if (!ts.isCallExpression(call) || call.expression !== access) break;
    if (methods.includes(access.name.text)) args.push(...call.arguments);
    // onConflict((oc) => oc.column(…).doUpdateSet({…})): the upsert's columns sit in a callback.
    for (const arg of call.arguments)
      if (ts.isArrowFunction(arg)) args.push(...nestedCalls(arg, methods));
    node = call;
  }
  return args;
}

function nestedCalls(root: ts.Node, methods: readonly string[]): ts.Expression[] {
  const args: ts.Expression[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      methods.includes(node.expression.name.text)
    ) {
      args.push(...node.arguments);
    }
    ts.forEachChild(node, visit);
  };
  visit(root);
  return args;
}

/**
 * Why `arg` may write a status: a `status` key (other than `allowed`, as a literal), or a shape
 * the scan cannot see into (a spread, a computed key, a value built elsewhere). Undefined: none.
 */
function statusIn(arg: ts.Expression, allowed?: string): string | undefined {
  let object: ts.Expression = arg;
  // .set((eb) => ({ … }))
  if (ts.isArrowFunction(object) && !ts.isBlock(object.body)) object = object.body;
  while (ts.isParenthesizedExpression(object)) object = object.expression;
  if (!ts.isObjectLiteralExpression(object)) return "a value the scan cannot read";
  for (const property of object.properties) {
    if (ts.isSpreadAssignment(property)) return "a spread the scan cannot read";
    const name = property.name;
    if (!name || ts.isComputedPropertyName(name)) return "a computed key";
    if (name.getText().replace(/["']/g, "") !== "status") continue;
    if (
      allowed !== undefined &&
      ts.isPropertyAssignment(property) &&
      ts.isStringLiteral(property.initializer) &&
      property.initializer.text === allowed
    ) {
      continue;
    }
    return "status";
  }
  return undefined;
}

describe("the writers of a payment's status", () => {
  it("no module but transition.ts writes payment_intents.status, and none but status-history.ts its history", () => {
    const sources = gatewaySources();
    expect(sources.map((s) => s.file)).toContain(STATUS_WRITER);
    expect(findStatusWriters(sources)).toEqual([]);
  });

  it("the scan finds each way of writing a status elsewhere", () => {
    const file = "treasury/rogue.ts";
    const found = findStatusWriters([
      {
        file,
        text: `
          await trx.updateTable("payment_intents").set({ status: "expired" }).where("id", "=", id).execute();
          await db.updateTable("payment_intents as i").where("id", "=", id).set({ "status": to }).execute();
          await db.updateTable("payment_intents").set({ ...changes }).execute();
          await db.updateTable("payment_intents").set(values).execute();
          await db.updateTable("payment_intents").set((eb) => ({ status: eb.ref("x") })).execute();
          await sql\`update payment_intents set updated_at = now(), status = 'expired' where id = \${id}\`.execute(db);
          await db.insertInto("payment_intents").values({ id, status: "success" }).execute();
          await db.insertInto("payment_intent_status_history").values(row).execute();
          // Not a status write: the collection's columns.
          await db.updateTable("payment_intents").set({ aggregated_amount: 1n }).execute();
          await db.updateTable("refunds").set({ status: "x" }).execute();
        `,
      },
    ]);
    expect(found.map((f) => f.replace(/^treasury\/rogue\.ts:\d+: /, ""))).toEqual([
      "updates payment_intents.status (status)",
      "updates payment_intents.status (status)",
      "updates payment_intents.status (a spread the scan cannot read)",
      "updates payment_intents.status (a value the scan cannot read)",
      "updates payment_intents.status (status)",
      "updates payment_intents.status in raw SQL",
      "inserts payment_intents with a status (status)",
      "inserts payment_intent_status_history",
    ]);
    expect(found[0]).toMatch(/^treasury\/rogue\.ts:2: /);
  });

  it("creation may insert an intent as pending, and only as pending", () => {
    const text = (status: string) =>
      `await trx.insertInto("payment_intents").values({ id, status: ${status} }).execute();`;
    expect(findStatusWriters([{ file: INTENT_CREATOR, text: text(`"pending"`) }])).toEqual([]);
    expect(findStatusWriters([{ file: INTENT_CREATOR, text: text(`"success"`) }])).toHaveLength(1);
  });
});
