import { findSubject } from '../../consent/subjects.ts';
import { ConsentQLError } from '../../errors.ts';
import { manifestOf, type ExtractRow } from '../../extracts/manifest.ts';
import { builder } from '../builder.ts';
import { loadCustomers } from '../subjects.ts';
import { knownPurpose } from './access.ts';
import { SubjectInput } from './inputs.ts';

// Extracts and their lineage, for admins (src/http/permissions.ts): which data
// sets were made for which purpose, with their manifests, and which of them
// hold a given subject (to answer an access request, or to check that a
// withdrawal reached every consumer that trained on the subject).

const ExtractStatusEnum = builder.enumType('ExtractStatus', { values: ['RUNNING', 'COMPLETE', 'FAILED'] as const });

const ExtractRef = builder.objectRef<ExtractRow>('Extract').implement({
  description: 'A purpose-limited extract (POST /extracts) and its manifest. Names no subject.',
  fields: (t) => ({
    id: t.id({ nullable: false, resolve: (e) => String(e.id) }),
    purpose: t.exposeString('purposeKey', { nullable: false }),
    purposeVersion: t.exposeInt('purposeVersion', { nullable: false }),
    policyVersion: t.exposeString('policyVersion', { nullable: false }),
    format: t.exposeString('format', { nullable: false }),
    fields: t.exposeStringList('fields', { nullable: false, description: 'The fields asked for, as Type.field.' }),
    status: t.field({ type: ExtractStatusEnum, nullable: false, resolve: (e) => e.status }),
    consentSnapshotAt: t.field({ type: 'DateTime', nullable: false, resolve: (e) => e.snapshotAt }),
    createdAt: t.field({ type: 'DateTime', nullable: false, resolve: (e) => e.createdAt }),
    completedAt: t.field({ type: 'DateTime', resolve: (e) => e.completedAt }),
    rows: t.int({ description: 'Rows written; null while running.', resolve: (e) => manifestNumber(e, 'rows') }),
    sha256: t.string({
      description: 'SHA-256 of the content; null unless complete.',
      resolve: (e) => (manifestOf(e) as { sha256?: string | null }).sha256 ?? null,
    }),
    manifest: t.string({
      nullable: false,
      description: 'The whole manifest as JSON text, as GET /extracts/<id>/manifest returns it.',
      resolve: (e) => JSON.stringify(manifestOf(e)),
    }),
  }),
});

const manifestNumber = (e: ExtractRow, key: 'rows') => {
  const value = (manifestOf(e) as Record<string, unknown>)[key];
  return typeof value === 'number' ? value : null;
};

interface Membership {
  customerId: string;
  extract: ExtractRow;
}

const PROOF = { serves: ['consent_management'], category: 'behavioural', mask: 'null' } as const;

const ExtractMembershipRef = builder.objectRef<Membership>('ExtractMembership').implement({
  description: "An extract that holds a subject, and the subject's pseudonym in it.",
  personalData: { subject: (m) => m.customerId },
  fields: (t) => ({
    extract: t.field({ type: ExtractRef, purpose: PROOF, resolve: (m) => m.extract }),
    subjectKey: t.string({
      purpose: { ...PROOF, category: 'identifier' },
      description: "The subject as the extract's rows name it: their pseudonym under the extract's purpose.",
      resolve: (m, _args, ctx) => ctx.masker.pseudonym(m.customerId, m.extract.purposeKey),
    }),
  }),
});

const MAX_EXTRACTS = 1000;

builder.queryFields((t) => ({
  extracts: t.field({
    type: [ExtractRef],
    nullable: false,
    description: 'Extracts, newest first, with their manifests; of one purpose if given. Admins only.',
    args: { purpose: t.arg.string(), first: t.arg.int({ defaultValue: 50 }) },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? 50;
      if (first < 1 || first > MAX_EXTRACTS) {
        throw new ConsentQLError('BAD_USER_INPUT', `first expects a number from 1 to ${MAX_EXTRACTS}, but got ${first}.`, {
          argument: 'first',
        });
      }
      if (args.purpose) knownPurpose(args.purpose, 'purpose');
      return (await ctx.db.prisma.extract.findMany({
        where: args.purpose ? { purposeKey: args.purpose } : {},
        orderBy: { id: 'desc' },
        take: first,
      })) as ExtractRow[];
    },
  }),
  subjectExtracts: t.field({
    type: [ExtractMembershipRef],
    nullable: false,
    description:
      'The extracts a subject is in (by our id or the CRM id), oldest first, with their pseudonym in each. Admins only, ' +
      'declaring X-Purpose: consent_management.',
    args: { subject: t.arg({ type: SubjectInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const subject = await findSubject(ctx.db.prisma, {
        id: args.subject.id == null ? null : String(args.subject.id),
        externalId: args.subject.externalId,
      });
      // Loaded like any read, so that its fields are decided (and the read audited).
      await loadCustomers(ctx, { query: { select: { id: true } }, where: { id: subject.id } });
      const rows = await ctx.db.prisma.$queryRawUnsafe<ExtractRow[]>(
        `SELECT x.id, x.client_id AS "clientId", x.purpose_key AS "purposeKey", x.purpose_version AS "purposeVersion",
                x.policy_version AS "policyVersion", x.snapshot_at AS "snapshotAt", x.format, x.fields, x.status::text AS status,
                x.manifest, x.created_at AS "createdAt", x.completed_at AS "completedAt"
           FROM extract_member m JOIN extract x ON x.id = m.extract_id
          WHERE m.customer_id = $1::uuid
          ORDER BY x.id`,
        subject.id,
      );
      return rows.map((extract) => ({ customerId: subject.id, extract }));
    },
  }),
}));
