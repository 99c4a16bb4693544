import type { SeedClient } from './client.ts';

// Speed: every table is written with multi-row `INSERT ... SELECT FROM
// unnest($1::uuid[], $2::text[], ...)` statements of a few thousand rows each,
// one array parameter per column, instead of one statement per row.

const BATCH_ROWS = 4000;

/** [column, array type of the unnest parameter, optional cast of the unnested value] */
export type ColumnSpec = readonly [name: string, arrayType: string, cast?: string];

export const COLUMNS = {
  customer: [
    ['id', 'uuid'],
    ['external_id', 'text'],
    ['email', 'text'],
    ['phone', 'text'],
    ['first_name', 'text'],
    ['last_name', 'text'],
    ['birth_date', 'date'],
    ['street', 'text'],
    ['city', 'text'],
    ['postal_code', 'text'],
    ['region', 'text'],
    ['country', 'text'],
    ['preferred_language', 'text'],
    ['segment', 'text'],
    ['lifetime_value', 'numeric'],
    ['churn_score', 'float8'],
    ['risk_band', 'text'],
    // A ragged text[][] cannot be one parameter: each row's array travels as its literal.
    ['health_interests', 'text', 'text[]'],
    ['precise_location', 'text'],
    ['created_at', 'timestamp'],
    ['updated_at', 'timestamp'],
  ],
  order: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['number', 'text'],
    ['status', 'text'],
    ['currency', 'text'],
    ['total', 'numeric'],
    ['placed_at', 'timestamp'],
  ],
  order_item: [
    ['id', 'uuid'],
    ['order_id', 'uuid'],
    ['customer_id', 'uuid'],
    ['sku', 'text'],
    ['name', 'text'],
    ['quantity', 'int4'],
    ['unit_price', 'numeric'],
  ],
  support_ticket: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['subject', 'text'],
    ['status', 'text'],
    ['channel', 'text'],
    ['opened_at', 'timestamp'],
    ['closed_at', 'timestamp'],
  ],
  ticket_message: [
    ['id', 'uuid'],
    ['ticket_id', 'uuid'],
    ['customer_id', 'uuid'],
    ['author', 'text'],
    ['body', 'text'],
    ['sent_at', 'timestamp'],
  ],
  marketing_interaction: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['campaign', 'text'],
    ['kind', 'text'],
    ['occurred_at', 'timestamp'],
  ],
  web_event: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['kind', 'text'],
    ['path', 'text'],
    ['device', 'text'],
    ['occurred_at', 'timestamp'],
  ],
  // Enums travel as text[] and are cast per value: PGlite serialises only arrays of built-in types.
  consent_event: [
    ['id', 'int8'],
    ['customer_id', 'uuid'],
    ['purpose_key', 'text'],
    ['purpose_version', 'int4'],
    ['action', 'text', '"ConsentAction"'],
    ['source', 'text', '"ConsentSource"'],
    ['notice_version', 'text'],
    ['regime', 'text', '"Regime"'],
    ['sensitive', 'bool'],
    ['expires_at', 'timestamp'],
    ['ip_hash', 'text'],
    ['user_agent', 'text'],
    ['recorded_at', 'timestamp'],
  ],
} as const satisfies Record<string, readonly ColumnSpec[]>;

export type BufferedTable = keyof typeof COLUMNS;

export class RowBuffer {
  readonly columns: unknown[][];
  readonly specs: readonly ColumnSpec[];
  constructor(specs: readonly ColumnSpec[]) {
    this.specs = specs;
    this.columns = specs.map(() => []);
  }
  get length(): number {
    return this.columns[0].length;
  }
  push(...values: unknown[]): void {
    if (values.length !== this.specs.length) throw new Error(`seed: expected ${this.specs.length} values, got ${values.length}`);
    for (let i = 0; i < values.length; i++) this.columns[i].push(values[i]);
  }
}

export async function insertBuffer(client: SeedClient, table: string, buffer: RowBuffer, batchRows = BATCH_ROWS): Promise<void> {
  const { specs } = buffer;
  const names = specs.map(([n]) => `"${n}"`).join(', ');
  const args = specs.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const aliases = specs.map((_, i) => `c${i}`).join(', ');
  const select = specs.map(([, , cast], i) => (cast ? `c${i}::${cast}` : `c${i}`)).join(', ');
  const sql = `INSERT INTO "${table}" (${names}) SELECT ${select} FROM unnest(${args}) AS u(${aliases})`;
  for (let offset = 0; offset < buffer.length; offset += batchRows) {
    await client.query(
      sql,
      buffer.columns.map((col) => col.slice(offset, offset + batchRows)),
    );
  }
}
