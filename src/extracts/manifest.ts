import type { Database } from '../db/database.ts';
import type { FieldDecision } from './fields.ts';
import type { Format } from './formats.ts';

// The manifest of an extract: what a training pipeline keeps beside the data
// set to show what it holds and on what basis. Counts only: it names no subject.

export interface ExtractManifest {
  id: string;
  status: 'RUNNING' | 'COMPLETE' | 'FAILED';
  /** The name of the client that made it. */
  client: string | null;
  purpose: { key: string; version: number };
  policyVersion: string;
  mode: string;
  format: Format;
  /** The output columns: `subject` (the pseudonym under the purpose), then the fields. */
  columns: string[];
  /** Each field with its decision under the purpose, and on how many rows it was masked. */
  fields: (FieldDecision & { maskedRows: number })[];
  /** The consent the extract reflects: the database snapshot it read, and the instant its decisions were made at. */
  consentSnapshotAt: string;
  decidedAt: string;
  /** Rows written: one per subject, or with a record type one per record. */
  rows: number;
  /** Subjects written. */
  subjects: number;
  /** Subjects left out for having no legal basis for the purpose, by the policy's reason. */
  excluded: {
    total: number;
    byReason: Record<string, number>;
    /** Of those, rows the SQL filter let through that the policy withheld when checking them again (fail closed; expected 0). */
    withheldAfterSql: number;
  };
  /** SHA-256 of the bytes sent, hex; and how many. */
  sha256: string | null;
  bytes: number;
  createdAt: string;
  completedAt: string | null;
  /** Why a FAILED extract stopped (no personal data). */
  failure?: string;
}

/** The order a manifest is shown in (the database keeps JSON keys in its own order). */
const KEY_ORDER: readonly string[] = [
  'id',
  'status',
  'client',
  'purpose',
  'policyVersion',
  'mode',
  'format',
  'columns',
  'fields',
  'consentSnapshotAt',
  'decidedAt',
  'rows',
  'subjects',
  'excluded',
  'sha256',
  'bytes',
  'createdAt',
  'completedAt',
  'failure',
];

const rank = (key: string) => {
  const i = KEY_ORDER.indexOf(key);
  return i === -1 ? KEY_ORDER.length : i;
};

function inOrder(manifest: Record<string, unknown>): Record<string, unknown> {
  const ordered = Object.entries(manifest).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  return Object.fromEntries(
    ordered.map(([key, value]) =>
      key === 'fields' && Array.isArray(value)
        ? [
            key,
            value.map((f: Record<string, unknown>) => ({
              field: f.field,
              decision: f.decision,
              category: f.category,
              mask: f.mask,
              maskedRows: f.maskedRows,
            })),
          ]
        : [key, value],
    ),
  );
}

/** The stored extract row, for the manifest endpoint and the admin queries. */
export interface ExtractRow {
  id: bigint;
  clientId: string | null;
  purposeKey: string;
  purposeVersion: number;
  policyVersion: string;
  snapshotAt: Date;
  format: string;
  fields: string[];
  status: 'RUNNING' | 'COMPLETE' | 'FAILED';
  manifest: unknown;
  createdAt: Date;
  completedAt: Date | null;
}

/** The manifest of a stored extract: the one written at its end, or what is known while it runs. */
export function manifestOf(row: ExtractRow): ExtractManifest | Record<string, unknown> {
  if (row.manifest && typeof row.manifest === 'object') return inOrder({ ...(row.manifest as ExtractManifest), status: row.status });
  return {
    id: String(row.id),
    status: row.status,
    purpose: { key: row.purposeKey, version: row.purposeVersion },
    policyVersion: row.policyVersion,
    format: row.format,
    fields: row.fields,
    consentSnapshotAt: row.snapshotAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}

export async function findExtract(db: Database, id: string): Promise<ExtractRow | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  return (await db.prisma.extract.findUnique({ where: { id: BigInt(id) } })) as ExtractRow | null;
}
