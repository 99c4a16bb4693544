import { isObjectType } from 'graphql';
import { fieldClass } from '../policy/decide.ts';
import { PURPOSES, findPurpose } from '../policy/taxonomy.ts';
import { REGIMES } from '../policy/types.ts';
import { builder } from './builder.ts';
import { TAG_EXTENSION, type FieldTag } from './consent-plugin/index.ts';
import type { AuthenticatedClient } from './context.ts';

// The data map: every tagged field of every personal-data type, with what a
// request declaring each purpose gets back for it. Schema owners and admins
// see every purpose; any other client only the purposes it is registered for.

/**
 * What a purpose gets for a field of a subject the purpose may process at all
 * (subjects without a legal basis for the purpose are not returned).
 */
const DATA_MAP_OUTCOMES = {
  CLEAR: 'The field serves the purpose and is not special-category data: returned in clear.',
  CLEAR_WITH_SENSITIVE_CONSENT:
    'The field serves the purpose but is special-category data: in clear only where the subject also gave the ' +
    'sensitive-data consent their law requires for the purpose (none for contract purposes), otherwise its mask.',
  MASKED: 'The field does not serve the purpose: its mask applies (null, a keyed token, a partial or generalised value).',
  SUBJECT_KEY: 'A surrogate key or a per-purpose pseudonym: returned with its row.',
} as const;

type DataMapOutcome = keyof typeof DATA_MAP_OUTCOMES;

const DataMapOutcomeEnum = builder.enumType('DataMapOutcome', {
  description: 'What a request declaring a purpose gets for a field of a subject it may process.',
  values: Object.fromEntries(Object.entries(DATA_MAP_OUTCOMES).map(([value, description]) => [value, { description }])) as {
    [K in DataMapOutcome]: { description: string };
  },
});

interface DataMapDecision {
  purpose: string;
  outcome: DataMapOutcome;
}

const DataMapDecisionRef = builder.objectRef<DataMapDecision>('DataMapDecision').implement({
  description: 'The outcome of one field under one purpose.',
  fields: (t) => ({
    purpose: t.exposeString('purpose', { nullable: false }),
    outcome: t.expose('outcome', { type: DataMapOutcomeEnum, nullable: false }),
  }),
});

interface DataMapEntry {
  type: string;
  field: string;
  surrogateKey: boolean;
  pseudonym: boolean;
  serves: readonly string[];
  category: string | null;
  mask: string | null;
  decisions: DataMapDecision[];
}

const DataMapEntryRef = builder.objectRef<DataMapEntry>('DataMapEntry').implement({
  description: 'The purpose tag of one field of a personal-data type.',
  fields: (t) => ({
    type: t.exposeString('type', { nullable: false }),
    field: t.exposeString('field', { nullable: false }),
    surrogateKey: t.exposeBoolean('surrogateKey', { nullable: false }),
    pseudonym: t.exposeBoolean('pseudonym', {
      nullable: false,
      description: "The subject's pseudonym under the declared purpose: returned with its row.",
    }),
    serves: t.exposeStringList('serves', { nullable: false }),
    category: t.exposeString('category'),
    mask: t.exposeString('mask'),
    decisions: t.field({
      type: [DataMapDecisionRef],
      nullable: false,
      description: 'One outcome per purpose the caller may see (every purpose for schema owners and admins).',
      resolve: (entry) => entry.decisions,
    }),
  }),
});

/** The purposes whose outcomes a client may see, in taxonomy order. */
function purposesVisibleTo(client: AuthenticatedClient | null): string[] {
  if (!client) return [];
  const all = client.role === 'ADMIN' || client.role === 'SCHEMA_OWNER';
  return PURPOSES.map((p) => p.key as string).filter((key) => all || client.allowedPurposes.includes(key));
}

/**
 * The outcome of a field under a purpose, from the policy's own classification.
 * A notice of a consent change is decided by its tag alone (`decideNotice`):
 * clear where it serves the purpose with ordinary data, masked otherwise.
 */
function outcomeOf(purposeKey: string, tag: FieldTag, notice: boolean): DataMapOutcome {
  const purpose = findPurpose(purposeKey);
  // A purpose outside the taxonomy reads nothing in clear (fail closed).
  if (!purpose) return 'MASKED';
  switch (fieldClass(purpose, tag)) {
    case 'ordinary':
      return 'CLEAR';
    case 'sensitive':
      return notice ? 'MASKED' : 'CLEAR_WITH_SENSITIVE_CONSENT';
    default:
      return 'MASKED';
  }
}

function entryOf(
  type: string,
  field: string,
  tag: FieldTag | 'surrogate-key' | 'pseudonym',
  notice: boolean,
  purposes: readonly string[],
): DataMapEntry {
  if (tag === 'surrogate-key' || tag === 'pseudonym') {
    return {
      type,
      field,
      surrogateKey: tag === 'surrogate-key',
      pseudonym: tag === 'pseudonym',
      serves: [],
      category: null,
      mask: null,
      decisions: purposes.map((purpose) => ({ purpose, outcome: 'SUBJECT_KEY' })),
    };
  }
  return {
    type,
    field,
    surrogateKey: false,
    pseudonym: false,
    serves: tag.serves,
    category: tag.category,
    mask: tag.mask.strategy,
    decisions: purposes.map((purpose) => ({ purpose, outcome: outcomeOf(purpose, tag, notice) })),
  };
}

type PurposeShape = (typeof PURPOSES)[number];

const RegimeBasis = builder.objectRef<{ regime: string; basis: string; sensitiveBasis: string }>('RegimeBasis').implement({
  fields: (t) => ({
    regime: t.exposeString('regime', { nullable: false }),
    basis: t.exposeString('basis', { nullable: false }),
    sensitiveBasis: t.exposeString('sensitiveBasis', { nullable: false }),
  }),
});

const PurposeRef = builder.objectRef<PurposeShape>('Purpose').implement({
  description: 'A named use of data, from the reviewed taxonomy (src/policy/taxonomy.ts).',
  fields: (t) => ({
    key: t.exposeString('key', { nullable: false }),
    title: t.exposeString('title', { nullable: false }),
    description: t.exposeString('description', { nullable: false }),
    version: t.exposeInt('version', { nullable: false }),
    excludeRows: t.boolean({
      nullable: false,
      description: 'Whether subjects without a legal basis for the purpose are left out as whole rows.',
      deprecationReason: 'Always true: every purpose leaves out subjects who give it no legal basis.',
      resolve: () => true,
    }),
    bases: t.field({
      type: [RegimeBasis],
      nullable: false,
      resolve: (p) => REGIMES.map((regime) => ({ regime, basis: p.basis[regime], sensitiveBasis: p.sensitiveBasis[regime] })),
    }),
  }),
});

builder.queryFields((t) => ({
  purposes: t.field({
    type: [PurposeRef],
    nullable: false,
    description: 'The purpose taxonomy. Reads no personal data: no X-Purpose needed.',
    resolve: () => [...PURPOSES],
  }),
  dataMap: t.field({
    type: [DataMapEntryRef],
    nullable: false,
    description:
      'Every tagged field of every personal-data type, with its outcome under each purpose the caller may see: ' +
      'every purpose for schema owners and admins, the purposes it is registered for for any other client. ' +
      'Needs a key but no X-Purpose. Subjects who give the declared purpose no legal basis (no consent where ' +
      'opt-in applies, withdrawn, opted out, expired, outdated purpose version, a minor without the required ' +
      'opt-in) are not returned at all, for any field. The exception are notices of consent changes (the change ' +
      'feed, the subscription, the suppression list): decided by the tag alone, so that a consumer learns to stop.',
    resolve: (_root, _args, ctx, info) => {
      const purposes = purposesVisibleTo(ctx.client);
      const entries: DataMapEntry[] = [];
      for (const type of Object.values(info.schema.getTypeMap())) {
        const typeTag = isObjectType(type) ? (type.extensions?.[TAG_EXTENSION] as { notice?: boolean } | undefined) : undefined;
        if (!isObjectType(type) || !typeTag) continue;
        for (const field of Object.values(type.getFields())) {
          const tag = field.extensions?.[TAG_EXTENSION] as FieldTag | 'surrogate-key' | 'pseudonym' | undefined;
          if (tag) entries.push(entryOf(type.name, field.name, tag, typeTag.notice === true, purposes));
        }
      }
      return entries.sort((a, b) => a.type.localeCompare(b.type) || a.field.localeCompare(b.field));
    },
  }),
}));
