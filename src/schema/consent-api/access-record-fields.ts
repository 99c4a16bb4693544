import {
  accessRecordPage,
  subjectsOfRecords,
  subjectAccessPage,
  type AccessRecordEntry,
  type Page,
  type SubjectAccessEntry,
} from '../../audit/access-records.ts';
import { findSubject } from '../../consent/subjects.ts';
import { ConsentQLError } from '../../errors.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { loadCustomers, requireConsent } from '../subjects.ts';
import { CONSENT_MANAGEMENT, knownPurpose } from './access.ts';
import { SubjectInput } from './inputs.ts';
import { checkId } from '../../clients/manage.ts';

// Who read whose data, for which purpose, when: admins only (src/http/permissions.ts),
// declaring consent_management. A per-subject row is the subject's personal
// data, tagged and decided like any other; the read of it is audited in turn.

/** What a subject's access row is read for: keeping and showing the subject what was done with their data. */
const AUDIT = { serves: ['consent_management'], category: 'behavioural', mask: 'null' } as const;

const SubjectAccessRecordRef = builder.objectRef<SubjectAccessEntry>('SubjectAccessRecord').implement({
  description: "One read's use of one subject's data: which client, for which purpose, which tagged fields it got and which were masked.",
  personalData: { subject: (e) => e.customerId },
  fields: (t) => ({
    recordId: t.id({ nullable: false, purpose: 'surrogate-key', resolve: (e) => e.recordId }),
    customerId: t.id({ nullable: false, purpose: 'surrogate-key', resolve: (e) => e.customerId }),
    clientId: t.id({ purpose: AUDIT, resolve: (e) => e.clientId }),
    clientName: t.exposeString('clientName', { purpose: AUDIT, description: 'The API client that read (null: deleted since).' }),
    purpose: t.exposeString('purposeKey', { purpose: AUDIT }),
    operation: t.exposeString('operation', { purpose: AUDIT, description: 'The GraphQL operation name the client sent, if any.' }),
    fieldsReturned: t.exposeStringList('returned', { purpose: AUDIT, description: 'Tagged fields returned in clear, as Type.field.' }),
    fieldsMasked: t.exposeStringList('masked', { purpose: AUDIT, description: 'Tagged fields masked, as Type.field.' }),
    occurredAt: t.field({ type: 'DateTime', purpose: AUDIT, resolve: (e) => e.occurredAt }),
  }),
});

const SubjectAccessPageRef = builder.objectRef<Page<SubjectAccessEntry>>('SubjectAccessRecordPage').implement({
  fields: (t) => ({
    entries: t.field({ type: [SubjectAccessRecordRef], nullable: false, resolve: (p) => p.entries }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for older records; null on the last page.' }),
    hasMore: t.exposeBoolean('hasMore', { nullable: false }),
  }),
});

/** A page of records, with the per-subject rows of all of them loaded at once when asked for. */
interface RecordPage extends Page<AccessRecordEntry> {
  subjects(ctx: Context): Promise<Map<string, SubjectAccessEntry[]>>;
}

const AccessRecordRef = builder.objectRef<AccessRecordEntry & { page: RecordPage }>('AccessRecord').implement({
  description: 'One read of personal data: which client, for which purpose, which operation, what it returned and masked, when.',
  fields: (t) => ({
    recordId: t.exposeID('recordId', { nullable: false }),
    clientId: t.exposeID('clientId'),
    clientName: t.exposeString('clientName', { description: 'The API client that read (null: deleted since).' }),
    purpose: t.exposeString('purposeKey', { nullable: false }),
    operation: t.exposeString('operation'),
    fieldsReturned: t.exposeStringList('fieldsReturned', {
      nullable: false,
      description: 'Tagged fields returned in clear for at least one subject, as Type.field.',
    }),
    fieldsMasked: t.exposeStringList('fieldsMasked', {
      nullable: false,
      description: 'Tagged fields masked for at least one subject, as Type.field.',
    }),
    maskedValues: t.exposeInt('maskedValues', { nullable: false, description: 'Values masked in the response.' }),
    subjectCount: t.exposeInt('subjects', { nullable: false, description: 'Subjects whose data the response returned.' }),
    rowsExcluded: t.exposeInt('rowsExcluded', { description: 'Subjects left out for want of a legal basis, where counted.' }),
    occurredAt: t.field({ type: 'DateTime', nullable: false, resolve: (r) => r.occurredAt }),
    subjects: t.field({
      type: [SubjectAccessRecordRef],
      nullable: false,
      description: 'Per subject: what this read returned and masked (subjects erased since are not listed).',
      resolve: async (r, _args, ctx) => (await r.page.subjects(ctx)).get(r.recordId) ?? [],
    }),
  }),
});

const AccessRecordPageRef = builder.objectRef<RecordPage>('AccessRecordPage').implement({
  fields: (t) => ({
    entries: t.field({
      type: [AccessRecordRef],
      nullable: false,
      resolve: (p) => p.entries.map((e) => ({ ...e, page: p })),
    }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for older records; null on the last page.' }),
    hasMore: t.exposeBoolean('hasMore', { nullable: false }),
  }),
});

/** Access records are read for consent management alone: an admin declares it. */
function requireConsentManagement(ctx: Context): void {
  const { purpose } = requireConsent(ctx);
  if (purpose.key !== CONSENT_MANAGEMENT) {
    throw new ConsentQLError(
      'PURPOSE_NOT_ALLOWED',
      `Access records are read for "${CONSENT_MANAGEMENT}", but this request declared X-Purpose "${purpose.key}". ` +
        `Send "X-Purpose: ${CONSENT_MANAGEMENT}".`,
      { received: purpose.key, expected: CONSENT_MANAGEMENT },
    );
  }
}

/** Registers the subjects with the request's consent (so their rows are decided and audited); returns those that exist. */
async function registerSubjects(ctx: Context, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await loadCustomers(ctx, { query: { select: { id: true } }, where: { id: { in: [...new Set(ids)] } } });
  return new Set(rows.map((r) => r.id));
}

builder.queryFields((t) => ({
  subjectAccessRecords: t.field({
    type: SubjectAccessPageRef,
    nullable: false,
    description: "Who read this subject's data, for which purpose, which fields in clear and which masked: newest first.",
    args: {
      subject: t.arg({ type: SubjectInput, required: true }),
      first: t.arg.int({ defaultValue: 20, description: 'At most 100.' }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      requireConsentManagement(ctx);
      const subject = await findSubject(ctx.db.prisma, {
        id: args.subject.id == null ? null : String(args.subject.id),
        externalId: args.subject.externalId,
      });
      const page = await subjectAccessPage(ctx.db, subject.id, { first: args.first, after: args.after });
      await registerSubjects(ctx, [subject.id]);
      return page;
    },
  }),
  accessRecords: t.field({
    type: AccessRecordPageRef,
    nullable: false,
    description: 'Reads of personal data by a client and/or for a purpose (neither: all), newest first.',
    args: {
      clientId: t.arg.id(),
      purpose: t.arg.string(),
      first: t.arg.int({ defaultValue: 20, description: 'At most 100.' }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      requireConsentManagement(ctx);
      if (args.purpose != null) knownPurpose(args.purpose, 'purpose');
      const clientId = args.clientId == null ? null : checkId(String(args.clientId), 'clientId');
      const page = await accessRecordPage(ctx.db, { clientId, purposeKey: args.purpose }, { first: args.first, after: args.after });
      let loaded: Promise<Map<string, SubjectAccessEntry[]>> | undefined;
      return {
        ...page,
        subjects: (c: Context) => {
          loaded ??= (async () => {
            const rows = await subjectsOfRecords(c.db, page.entries);
            const known = await registerSubjects(
              c,
              rows.map((r) => r.customerId),
            );
            const byRecord = new Map<string, SubjectAccessEntry[]>();
            for (const row of rows) {
              if (!known.has(row.customerId)) continue;
              const list = byRecord.get(row.recordId) ?? [];
              list.push(row);
              byRecord.set(row.recordId, list);
            }
            return byRecord;
          })();
          return loaded;
        },
      };
    },
  }),
}));
