import type { Prisma } from '../generated/prisma/client.ts';
import { ConsentQLError } from '../errors.ts';
import { permits } from '../policy/decide.ts';
import { isMinor, regimeOf } from '../policy/regime.ts';
import type { ConsentRecord, Subject } from '../policy/types.ts';
import type { RequestConsent } from './consent-plugin/index.ts';
import type { Context } from './context.ts';
import { customerRowsQuery } from './customer-rows.ts';
import { pageIdsQuery, readsConsent } from './pagination/page-ids.ts';
import { permittedBranches, permittedWhere } from './permitted-where.ts';

// The one way a root field loads customers. Every load takes the declared
// purpose's row filter in SQL (subjects without a legal basis are not read
// at all: a page of a purpose that needs consent selects its ids with that
// filter first, then reads only those rows), brings each row's consent in the
// statement that reads it, checks the same rule again in code and registers
// the subjects for the field decisions.
// A new root field that uses it cannot skip any of these.

/** What a customer row must carry for its fields to be decided. */
export interface SubjectRow {
  id: string;
  country: string | null;
  region: string | null;
  birthDate: Date | null;
  consentStates: ConsentRecord[];
}

type Where = Prisma.CustomerWhereInput;

/** The request's consent; reaching a loader without one means the purpose gate was bypassed: refuse. */
export function requireConsent(ctx: Context): RequestConsent {
  if (!ctx.consent) {
    throw new ConsentQLError('PURPOSE_REQUIRED', 'A purpose is required to read personal data: send the X-Purpose header.');
  }
  return ctx.consent;
}

/** `where`, confined to the subjects who give the declared purpose a legal basis. */
export function lawfulWhere(ctx: Context, where: Where): Where {
  const { purpose, now } = requireConsent(ctx);
  return { AND: [permittedWhere(purpose, ctx.mode, now), where] };
}

/** Merges the consent include into the query Pothos planned for the selection (`include`, or `select`). */
function withConsent<Q extends { include?: object; select?: object }>(query: Q, purposeKey: string): Q {
  const consentStates = {
    where: { purposeKey },
    select: { purposeKey: true, regime: true, sensitive: true, action: true, purposeVersion: true, expiresAt: true },
  } as const;
  if (query.select) {
    return { ...query, select: { ...query.select, id: true, country: true, region: true, birthDate: true, consentStates } };
  }
  return { ...query, include: { ...query.include, consentStates } };
}

export interface LoadOptions<Q> {
  /** The selection Pothos planned (`queryFromInfo`), or `{}` for the bare row. */
  query: Q;
  where: Where;
  orderBy?: Prisma.CustomerOrderByWithRelationInput[];
  take?: number;
}

/** Customers the declared purpose may process, with their consent, registered as subjects. */
export async function loadCustomers<Q extends { include?: object; select?: object }>(
  ctx: Context,
  { query, where, orderBy, take }: LoadOptions<Q>,
): Promise<SubjectRow[]> {
  const consent = requireConsent(ctx);
  const planned = withConsent(query, consent.purpose.key);
  // A page (take and order) of a purpose that needs consent: the purpose's row filter as
  // one SELECT per regime that stops at the page (pagination/page-ids.ts); otherwise the
  // row filter and the request's filters as one condition.
  const branches = take !== undefined && orderBy ? permittedBranches(consent.purpose, ctx.mode, consent.now) : undefined;
  const paged = branches && readsConsent(branches);
  // One statement, mapped once (customer-rows.ts): the rows, their consent and the lists selected.
  const statement = paged
    ? customerRowsQuery({ query: planned, where, branches, orderBy, take })
    : customerRowsQuery({ query: planned, where: lawfulWhere(ctx, where), orderBy, take });
  if (statement) {
    const { rows } = await ctx.db.pool.query<Record<string, unknown>>(ctx.db.statement(statement.text, statement.values));
    statement.finish(rows);
    return registerSubjects(consent, ctx, rows as unknown as SubjectRow[]);
  }
  return registerSubjects(consent, ctx, await loadWithPrisma(ctx, planned, { where, orderBy, take, paged: paged ? branches : undefined }));
}

/** The same rows read by Prisma, for a selection or filter customer-rows.ts does not know. */
async function loadWithPrisma(
  ctx: Context,
  query: object,
  { where, orderBy, take, paged }: { where: Where; orderBy?: LoadOptions<object>['orderBy']; take?: number; paged?: readonly Where[] },
): Promise<SubjectRow[]> {
  let page = lawfulWhere(ctx, where);
  const select = paged && orderBy && take !== undefined ? pageIdsQuery(paged, where, orderBy, take) : null;
  if (select) {
    const { rows } = await ctx.db.pool.query<{ id: string }>(select.text, select.values);
    if (rows.length === 0) return [];
    // Not the row filter again: PostgreSQL would hash the purpose's consent states for
    // a list of 1,000 ids. Each row is checked against the same rule (registerSubjects),
    // with the consent this statement reads, and dropped if it fails. The bounds (least
    // and greatest id: lower-case uuids order alike as text and as uuids) let PostgreSQL
    // find the list by an index range scan.
    const ids = rows.map((r) => r.id);
    const sorted = [...ids].sort();
    page = { id: { in: ids, gte: sorted[0], lte: sorted[sorted.length - 1] } };
  }
  return (await ctx.db.prisma.customer.findMany({ ...query, where: page, orderBy, take })) as unknown as SubjectRow[];
}

/**
 * Counts what `loadCustomers` would return for `where`. How many subjects the
 * purpose excluded is itself about them (a filter narrow enough tells whether
 * one person refused), so it is counted only for clients allowed to ask for
 * explanations, and reported in `extensions.consent.excludedRows`.
 */
export async function countCustomers(ctx: Context, where: Where): Promise<number> {
  const consent = requireConsent(ctx);
  const count = (w: Where) => ctx.db.prisma.customer.count({ where: w });
  if (!consent.explain) return count(lawfulWhere(ctx, where));
  const [kept, all] = await Promise.all([count(lawfulWhere(ctx, where)), count(where)]);
  consent.excludedRows = all - kept;
  return kept;
}

/**
 * Registers each loaded customer as a subject of the request and returns the
 * rows that may be processed: the SQL filter and the policy are twins, and
 * should they ever disagree, the row is dropped (fail closed).
 */
function registerSubjects(consent: RequestConsent, ctx: Context, rows: readonly SubjectRow[]): SubjectRow[] {
  const kept: SubjectRow[] = [];
  for (const row of rows) {
    // A row that came without its consent stays unregistered and is dropped.
    if (!Array.isArray(row.consentStates)) continue;
    const subject: Subject = {
      regime: regimeOf(row.country, row.region, ctx.mode),
      minor: isMinor(row.birthDate, consent.now),
      consents: row.consentStates,
    };
    if (permits(consent.purpose, subject, false, consent.now).effect !== 'allow') continue;
    consent.addSubject(row.id, subject);
    kept.push(row);
  }
  return kept;
}
