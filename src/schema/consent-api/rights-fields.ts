import { findSubject } from '../../consent/subjects.ts';
import { ConsentQLError } from '../../errors.ts';
import { eraseSubject, findErasure, type ErasureReceipt, type RightsDeps } from '../../rights/erase.ts';
import { exportSubject, type SubjectExport } from '../../rights/export.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { loadCustomers, requireConsent } from '../subjects.ts';
import { CONSENT_MANAGEMENT } from './access.ts';
import { SubjectInput } from './inputs.ts';

// Data-subject rights for admins (src/http/permissions.ts): the access export
// and erasure. The consent center calls src/rights/ directly.

/** The export holds all of the subject's data: shown only to consent management, which keeps and shows it. */
const RIGHTS = { serves: ['consent_management'], category: 'identifier', mask: 'null' } as const;

const ErasureStatusEnum = builder.enumType('ErasureStatus', {
  description: 'PENDING: recorded, not yet carried out (it completes on retry or at the next start); DONE: erased.',
  values: ['PENDING', 'DONE'] as const,
});

const ErasureRef = builder.objectRef<ErasureReceipt>('Erasure').implement({
  description:
    'The proof of an erasure: a keyed hash of the subject id (CONSENTQL_PROOF_KEY), when, and who asked. It names no one: ' +
    'whoever holds an id can check it with `erasure(customerId:)`.',
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false }),
    subjectHash: t.exposeString('subjectHash', {
      nullable: false,
      description: 'hmac-sha256:<hex> of the subject id under the proof key.',
    }),
    status: t.field({ type: ErasureStatusEnum, nullable: false, resolve: (e) => e.status }),
    source: t.exposeString('source', { nullable: false, description: 'Who asked: "admin client <name>" or "consent center".' }),
    requestedAt: t.field({ type: 'DateTime', nullable: false, resolve: (e) => e.requestedAt }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.completedAt }),
    alreadyErased: t.exposeBoolean('alreadyErased', {
      nullable: false,
      description: 'The subject had been erased before this request: this is that proof, and nothing was done or sent again.',
    }),
    notices: t.exposeInt('notices', {
      nullable: false,
      description: 'Erasure notices this request sent to consumers (one per purpose); 0 if already erased.',
    }),
  }),
});

const SubjectExportRef = builder.objectRef<SubjectExport>('SubjectExport').implement({
  description:
    "Everything held on one subject, as one JSON document (format consentql.subject-export, version 1; see the README's " +
    '"Data-subject rights"): personal data and related records, consent history and state, access records, extracts, erasure.',
  personalData: { subject: (e) => e.subject.id },
  fields: (t) => ({
    subjectId: t.id({ nullable: false, purpose: 'surrogate-key', resolve: (e) => e.subject.id }),
    format: t.exposeString('format', { purpose: RIGHTS }),
    version: t.exposeInt('version', { purpose: RIGHTS }),
    generatedAt: t.exposeString('generatedAt', { purpose: RIGHTS }),
    truncated: t.exposeStringList('truncated', {
      purpose: RIGHTS,
      description: 'The lists capped at maxRowsPerSection (the export holds the first, or newest, rows of each).',
    }),
    document: t.string({
      purpose: RIGHTS,
      resolve: (e) => JSON.stringify(e),
      description: 'The whole export as JSON text: parse it, or save it as the subject-export file.',
    }),
  }),
});

function rightsDeps(ctx: Context): RightsDeps {
  return { db: ctx.db, masker: ctx.masker, proofKey: ctx.proofKey, mode: ctx.mode };
}

const subjectRef = (s: { id?: string | number | null; externalId?: string | null }) => ({
  id: s.id == null ? null : String(s.id),
  externalId: s.externalId,
});

/** The customer id of a subject that exists; an erased one is NOT_FOUND, saying so when asked by id. */
async function existingSubject(ctx: Context, ref: ReturnType<typeof subjectRef>): Promise<string> {
  try {
    return (await findSubject(ctx.db.prisma, ref)).id;
  } catch (error) {
    const id = ref.id?.trim().toLowerCase();
    const erased = error instanceof ConsentQLError && error.extensions.code === 'NOT_FOUND' && id ? await findErasure(ctx, id) : null;
    if (!erased) throw error;
    throw new ConsentQLError(
      'NOT_FOUND',
      `Customer ${id} was erased (${erased.status === 'DONE' ? `on ${erased.completedAt?.toISOString()}` : 'pending'}): ` +
        'nothing is held on them but the proof of erasure (query erasure(customerId:)).',
      { argument: 'subject.id', received: id, erasure: erased.id },
    );
  }
}

builder.queryFields((t) => ({
  subjectExport: t.field({
    type: SubjectExportRef,
    description:
      'The access export of one subject (GDPR Art. 15/20): everything held on them, machine-readable, under X-Purpose consent_management.',
    args: {
      subject: t.arg({ type: SubjectInput, required: true }),
      maxRowsPerSection: t.arg.int({ description: 'At most this many rows per list (1–10000, default 10000).' }),
    },
    resolve: async (_root, args, ctx) => {
      const consent = requireConsent(ctx);
      if (consent.purpose.key !== CONSENT_MANAGEMENT) {
        throw new ConsentQLError(
          'PURPOSE_NOT_ALLOWED',
          `subjectExport is read under X-Purpose "${CONSENT_MANAGEMENT}" (keeping and showing a subject their data), but this request ` +
            `declared "${consent.purpose.key}". Send X-Purpose: ${CONSENT_MANAGEMENT}.`,
          { received: consent.purpose.key, expected: CONSENT_MANAGEMENT },
        );
      }
      const id = await existingSubject(ctx, subjectRef(args.subject));
      // Registered like any read of the subject: decided and recorded in the access log.
      await loadCustomers(ctx, { query: { select: { id: true } }, where: { id } });
      return exportSubject(ctx.db, id, { mode: ctx.mode, maxRowsPerSection: args.maxRowsPerSection ?? undefined, now: consent.now });
    },
  }),
  erasure: t.field({
    type: ErasureRef,
    nullable: true,
    description: 'The proof of an erasure of this customer id, or null if it was never erased.',
    args: { customerId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => {
      const id = String(args.customerId).trim().toLowerCase();
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
        throw new ConsentQLError('BAD_USER_INPUT', `customerId expects a customer UUID, but got ${JSON.stringify(args.customerId)}.`, {
          argument: 'customerId',
        });
      }
      return findErasure(ctx, id);
    },
  }),
}));

builder.mutationFields((t) => ({
  eraseSubject: t.field({
    type: ErasureRef,
    description:
      'Erases a subject (GDPR Art. 17) in one transaction: their customer record and every related record, consent history and state, ' +
      'access records and extract lineage; keeps a proof (a keyed hash of the id, the time, who asked) and notifies the consumers of every ' +
      'purpose (a WITHDRAW flagged erased, with the extracts holding the subject). Idempotent: erasing again returns the same proof.',
    args: { subject: t.arg({ type: SubjectInput, required: true }) },
    resolve: (_root, args, ctx) => eraseSubject(rightsDeps(ctx), subjectRef(args.subject), `admin client ${ctx.client!.name}`),
  }),
}));
