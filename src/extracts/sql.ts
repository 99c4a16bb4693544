import type { DeploymentMode, PurposeDefinition } from '../policy/types.ts';
import { customerWhereSql } from '../schema/pagination/page-ids.ts';
import { permittedWhere } from '../schema/permitted-where.ts';
import { relationOf, type ExtractField } from './fields.ts';

// The statements of one extract. Which subjects it holds is decided by the
// API's own row filter (permittedWhere), compiled to SQL by the same compiler
// the customer list uses (src/schema/pagination/page-ids.ts): the rows, the
// lineage and the count of those left out all read that one condition.

export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * A customer's consent states for the purpose, as one string the row decider
 * parses: `regime,sensitive(0|1),action,purposeVersion,expiresAtMs` joined by
 * `;`, in a fixed order (so equal states give equal strings, and cache hits).
 */
const statesOf = (purposeParam: string) => `(SELECT string_agg(s.regime::text || ',' || s.sensitive::int || ',' || s.action::text || ','
       || s.purpose_version || ',' || coalesce((extract(epoch FROM s.expires_at) * 1000)::bigint::text, ''), ';'
       ORDER BY s.regime, s.sensitive)
   FROM consent_state s WHERE s.customer_id = c.id AND s.purpose_key = ${purposeParam})`;

/** The condition "the purpose may process this customer", over `c`, its values appended to `values`. */
export function permittedSql(purpose: PurposeDefinition, mode: DeploymentMode, now: Date, values: unknown[]): string {
  return customerWhereSql(permittedWhere(purpose, mode, now), 'c', values);
}

/**
 * The rows of the extract, by customer id: what the row decider needs to
 * check each subject again (jurisdiction, birth date, consent states) and the
 * fields' values. A field that does not serve the purpose and masks to null
 * is not read at all.
 */
export function rowsStatement(
  purpose: PurposeDefinition,
  mode: DeploymentMode,
  now: Date,
  fields: readonly ExtractField[],
  reads: readonly boolean[],
): Statement {
  const values: unknown[] = [];
  const permitted = permittedSql(purpose, mode, now, values);
  values.push(purpose.key);
  const columns = fields.map((f, i) => `${reads[i] ? f.sql : 'NULL'} AS f${i}`);
  const relation = relationOf(fields);
  return {
    // In the order of SourceRow (src/extracts/decide-rows.ts): id, country, region, birth date, states, fields.
    text: `SELECT c.id::text AS id, c.country, c.region, to_char(c.birth_date, 'YYYY-MM-DD') AS birth,
       ${statesOf(`$${values.length}::text`)} AS states${columns.length ? `,\n       ${columns.join(', ')}` : ''}
  FROM customer c${relation ? `\n  JOIN ${relation.table} r ON r.customer_id = c.id` : ''}
 WHERE ${permitted}
 ORDER BY c.id${relation ? ', r.id' : ''}`,
    values,
  };
}

/** The lineage: every subject the extract holds (with a record type: those with a record), in one statement. */
export function membersStatement(
  purpose: PurposeDefinition,
  mode: DeploymentMode,
  now: Date,
  fields: readonly ExtractField[],
  extractId: string,
): Statement {
  const values: unknown[] = [];
  const permitted = permittedSql(purpose, mode, now, values);
  values.push(extractId);
  const relation = relationOf(fields);
  const hasRecords = relation ? ` AND EXISTS (SELECT 1 FROM ${relation.table} r WHERE r.customer_id = c.id)` : '';
  return {
    // In key order: the primary key's pages are filled one after another (a third faster than in scan order).
    text: `INSERT INTO extract_member (customer_id, extract_id)
SELECT c.id, $${values.length}::bigint FROM customer c WHERE ${permitted}${hasRecords}
ORDER BY c.id`,
    values,
  };
}

/**
 * The customers the extract leaves out, grouped by what the policy reads of
 * them (jurisdiction, minor or not, consent states): a few hundred groups
 * whatever the size, each decided in code by the policy engine for its reason.
 * `IS NOT TRUE`: a condition that is NULL for a row leaves the row out too.
 */
export function exclusionsStatement(purpose: PurposeDefinition, mode: DeploymentMode, now: Date): Statement {
  const values: unknown[] = [];
  const permitted = permittedSql(purpose, mode, now, values);
  values.push(purpose.key);
  const purposeParam = `$${values.length}::text`;
  const cutoff = new Date(now);
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - 16);
  values.push(cutoff.toISOString());
  return {
    text: `SELECT c.country, c.region, coalesce(c.birth_date > $${values.length}::timestamp(3), false) AS minor,
       ${statesOf(purposeParam)} AS states, count(*)::int AS n
  FROM customer c
 WHERE (${permitted}) IS NOT TRUE
 GROUP BY 1, 2, 3, 4`,
    values,
  };
}
