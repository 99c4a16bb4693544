import { ByteWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import type { ExtractField, ValueKind } from './fields.ts';

// The output formats. Each turns batches of decided rows into bytes as they
// come, so an extract holds one batch (Parquet: one row group) at a time.
// Formatting is deterministic: the same rows give the same bytes, which is
// what makes an extract's checksum reproducible.

export const FORMATS = ['ndjson', 'csv', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

export interface Encoder {
  readonly contentType: string;
  readonly extension: string;
  /** Bytes for these rows (possibly none yet: Parquet writes whole row groups). */
  encode(rows: readonly unknown[][]): Uint8Array[];
  /** The rest: a partial row group and the Parquet footer. */
  finish(): Uint8Array[];
}

/** The output columns: the subject's pseudonym, then each field by its name. */
export const columnsOf = (fields: readonly ExtractField[]) => ['subject', ...fields.map((f) => f.column)];

export function createEncoder(format: Format, fields: readonly ExtractField[]): Encoder {
  if (format === 'csv') return csvEncoder(fields);
  if (format === 'parquet') return parquetEncoder(fields);
  return ndjsonEncoder(fields);
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** One JSON object per line, keys in field order; values as the GraphQL API returns them. */
function ndjsonEncoder(fields: readonly ExtractField[]): Encoder {
  const keys = columnsOf(fields).map((name, i) => `${i === 0 ? '{' : ','}${JSON.stringify(name)}:`);
  return {
    contentType: 'application/x-ndjson; charset=utf-8',
    extension: 'ndjson',
    encode(rows) {
      let text = '';
      for (const row of rows) {
        for (let i = 0; i < keys.length; i++) text += keys[i] + JSON.stringify(row[i] ?? null);
        text += '}\n';
      }
      return text ? [utf8(text)] : [];
    },
    finish: () => [],
  };
}

/**
 * RFC 4180: a header line, CRLF line ends, a value quoted when it holds a quote,
 * comma, line break or edge space. Null is an empty field, an empty string `""`;
 * a list is its JSON text.
 */
function csvEncoder(fields: readonly ExtractField[]): Encoder {
  let header = `${columnsOf(fields).map(csvValue).join(',')}\r\n`;
  return {
    contentType: 'text/csv; charset=utf-8; header=present',
    extension: 'csv',
    encode(rows) {
      let text = header;
      header = '';
      for (const row of rows) {
        for (let i = 0; i < row.length; i++) text += (i === 0 ? '' : ',') + csvValue(row[i]);
        text += '\r\n';
      }
      return text ? [utf8(text)] : [];
    },
    finish: () => (header ? [utf8(header)] : []),
  };
}

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$|^$/;

function csvValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows per Parquet row group: the most an extract holds in memory at once. */
export const PARQUET_ROW_GROUP = 10_000;

const PARQUET_TYPE: Record<ValueKind, 'STRING' | 'DOUBLE' | 'INT32' | 'BOOLEAN' | 'JSON'> = {
  string: 'STRING',
  float: 'DOUBLE',
  int: 'INT32',
  boolean: 'BOOLEAN',
  strings: 'JSON',
};

/**
 * Apache Parquet through hyparquet-writer, one row group per PARQUET_ROW_GROUP
 * rows, flushed as it is written. Every column is optional (a masked value is
 * null); dates and decimals are strings as the API returns them, lists JSON.
 */
function parquetEncoder(fields: readonly ExtractField[]): Encoder {
  const names = columnsOf(fields);
  const types = ['STRING' as const, ...fields.map((f) => PARQUET_TYPE[f.kind])];
  const schema = schemaFromColumnData({
    columnData: names.map((name, i) => ({ name, data: [], type: types[i], nullable: true })),
  });
  const out: Uint8Array[] = [];
  // As hyparquet-writer's own file writer does: hand over what is written, and start the buffer again.
  const writer = Object.assign(new ByteWriter(), {
    flush() {
      if (writer.index > 0) out.push(Buffer.from(new Uint8Array(writer.buffer, 0, writer.index)));
      writer.index = 0;
    },
  });
  const parquet = new ParquetWriter({ writer, schema, createdBy: 'consentql' });
  let columns: unknown[][] = names.map(() => []);
  let pending = 0;

  const writeGroup = () => {
    if (pending === 0) return;
    const columnData = names.map((name, i) => ({ name, data: columns[i], type: types[i], nullable: true }));
    parquet.write({ columnData: columnData as never, rowGroupSize: pending });
    columns = names.map(() => []);
    pending = 0;
  };
  const take = () => {
    writer.flush();
    return out.splice(0);
  };

  return {
    contentType: 'application/vnd.apache.parquet',
    extension: 'parquet',
    encode(rows) {
      for (const row of rows) {
        for (let i = 0; i < names.length; i++) columns[i].push(row[i] ?? null);
        pending += 1;
        if (pending >= PARQUET_ROW_GROUP) writeGroup();
      }
      return take();
    },
    finish() {
      writeGroup();
      parquet.finish();
      return take();
    },
  };
}
