import {
  type DatabaseMetadataOptions,
  type Kysely,
  PostgresIntrospector,
  sql,
  type TableMetadata,
} from "kysely";

/**
 * Kysely's migrator asks the introspector whether its tables exist. The stock PostgreSQL
 * introspector reads every column of every schema and calls `has_schema_privilege` by schema
 * name, which fails ("schema … does not exist") when another process drops a schema during the
 * scan: test files on PostgreSQL each create and drop a schema of their own, side by side. This
 * one looks at the one schema the gateway lives in, by name comparison only.
 */
export class SchemaIntrospector extends PostgresIntrospector {
  readonly #db: Kysely<unknown>;
  readonly #schema: string;

  constructor(db: Kysely<unknown>, schema: string) {
    super(db);
    this.#db = db;
    this.#schema = schema;
  }

  override async getTables(_options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; kind: string }>`
      select c.relname as name, c.relkind as kind
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${this.#schema} and c.relkind in ('r', 'v', 'p')
      order by c.relname`.execute(this.#db);
    return rows.map((row) => ({
      name: row.name,
      schema: this.#schema,
      isView: row.kind === "v",
      columns: [],
    }));
  }
}
