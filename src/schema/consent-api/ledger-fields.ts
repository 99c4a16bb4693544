import { gpcSignalRequest, recordConsent } from '../../consent/ledger.ts';
import { consentHistory, consentStatus } from '../../consent/history.ts';
import { findSubject } from '../../consent/subjects.ts';
import type { ConsentAction } from '../../consent/types.ts';
import { validateChoice, validatePurposes } from '../../consent/validate.ts';
import { findPurpose, PURPOSE_KEYS } from '../../policy/taxonomy.ts';
import { ConsentQLError } from '../../errors.ts';
import { builder } from '../builder.ts';
import { loadCustomers, requireConsent } from '../subjects.ts';
import type { Context } from '../context.ts';
import { ConsentChoiceInput, ConsentProofInput, gpcSignal, parseExpiry, proofOf, SubjectInput, type ProofFields } from './inputs.ts';
import { ConsentEventRef, GpcOutcomeRef, PurposeStatusRef, RecordedConsentRef } from './types.ts';

// Recording choices and reading them back. Who may call these is decided in
// src/http/permissions.ts (admins and consent recorders).

interface ChoiceArgs {
  subject: { id?: string | number | null; externalId?: string | null };
  purposes: string[];
  source: 'CONSENT_CENTER' | 'EMAIL_LINK' | 'CRM' | 'API' | 'CHATBOT' | 'GPC';
  noticeVersion?: string | null;
  expiresAt?: string | null;
  sensitive?: boolean | null;
  proof?: ProofFields | null;
  idempotencyKey?: string | null;
}

const subjectRef = (s: ChoiceArgs['subject']) => ({ id: s.id == null ? null : String(s.id), externalId: s.externalId });

/** The subject of a consent read or write, loaded like any other so its records are decided and audited. */
async function loadSubject(ctx: Context, id: string): Promise<void> {
  // Only what the decision needs: the loader adds jurisdiction, birth date and consent.
  await loadCustomers(ctx, { query: { select: { id: true } }, where: { id } });
}

async function record(action: ConsentAction, input: ChoiceArgs, ctx: Context) {
  validatePurposes(input.purposes);
  const expiresAt = parseExpiry(input.expiresAt);
  validateChoice({ ...input, expiresAt, action }, new Date());
  const result = await recordConsent(ctx.db, {
    subject: subjectRef(input.subject),
    purposes: input.purposes,
    action,
    source: input.source,
    sensitive: input.sensitive ?? false,
    noticeVersion: input.noticeVersion?.trim() || null,
    expiresAt,
    ...proofOf(ctx, input.proof),
    idempotencyKey: input.idempotencyKey ?? null,
    clientId: ctx.client!.id,
    gpcSignal: gpcSignal(ctx),
    mode: ctx.mode,
  });
  if (result.events[0]) await loadSubject(ctx, result.events[0].customerId);
  return result;
}

const CHOICES: Record<string, { action: ConsentAction; description: string }> = {
  grantConsent: { action: 'GRANT', description: 'Records consent (opt-in) for one or more purposes of one subject.' },
  withdrawConsent: { action: 'WITHDRAW', description: 'Records the withdrawal of consent; honoured by the next read on every instance.' },
  optOut: { action: 'OPT_OUT', description: 'Records an opt-out (CCPA sale/sharing, US state opt-outs, or any purpose).' },
  optIn: { action: 'OPT_IN', description: 'Records an opt-in, e.g. reversing an earlier opt-out.' },
};

builder.mutationFields((t) => ({
  ...Object.fromEntries(
    Object.entries(CHOICES).map(([name, { action, description }]) => [
      name,
      t.field({
        type: RecordedConsentRef,
        description: `${description} A request with "Sec-GPC: 1" also records the GPC opt-out where the subject's law requires it.`,
        args: { input: t.arg({ type: ConsentChoiceInput, required: true }) },
        resolve: (_root, args, ctx) => record(action, args.input as ChoiceArgs, ctx),
      }),
    ]),
  ),
  honourGlobalPrivacyControl: t.field({
    type: GpcOutcomeRef,
    description:
      'For a visit that carries "Sec-GPC: 1" (the consent center calls it on page load): records an opt-out of ad_sharing with source GPC ' +
      'where the subject lives under a law that requires honouring it (California and the US states of UNIVERSAL_OPT_OUT_STATES). Idempotent.',
    args: { subject: t.arg({ type: SubjectInput, required: true }), proof: t.arg({ type: ConsentProofInput }) },
    resolve: async (_root, args, ctx) => {
      if (!gpcSignal(ctx)) {
        await findSubject(ctx.db.prisma, subjectRef(args.subject));
        return { honoured: false, reason: 'NO_SIGNAL' as const, eventId: null };
      }
      const result = await recordConsent(
        ctx.db,
        gpcSignalRequest(subjectRef(args.subject), proofOf(ctx, args.proof), ctx.client!.id, ctx.mode),
      );
      return result.gpc!;
    },
  }),
}));

builder.queryFields((t) => ({
  consentHistory: t.field({
    type: [ConsentEventRef],
    description: "A subject's consent events, oldest first: what was chosen, when, through which channel, under which notice.",
    args: { subject: t.arg({ type: SubjectInput, required: true }), purpose: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const subject = await findSubject(ctx.db.prisma, subjectRef(args.subject));
      if (args.purpose && !findPurpose(args.purpose)) {
        throw new ConsentQLError(
          'UNKNOWN_PURPOSE',
          `purpose "${args.purpose}" is not a purpose of the taxonomy; expected one of: ${PURPOSE_KEYS.join(', ')}.`,
          { argument: 'purpose', received: args.purpose, validPurposes: PURPOSE_KEYS },
        );
      }
      await loadSubject(ctx, subject.id);
      return consentHistory(ctx.db.prisma, subject.id, args.purpose);
    },
  }),
  consentStatus: t.field({
    type: [PurposeStatusRef],
    description: 'What the policy engine decides today for each purpose that takes consent, for one subject.',
    args: { subject: t.arg({ type: SubjectInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const subject = await findSubject(ctx.db.prisma, subjectRef(args.subject));
      await loadSubject(ctx, subject.id);
      return consentStatus(ctx.db.prisma, subject, ctx.mode, requireConsent(ctx).now);
    },
  }),
}));
