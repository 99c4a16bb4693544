import { isObjectType } from 'graphql';
import { PURPOSES } from '../policy/taxonomy.ts';
import { REGIMES } from '../policy/types.ts';
import { builder } from './builder.ts';
import { TAG_EXTENSION, type FieldTag } from './consent-plugin/index.ts';

interface DataMapEntry {
  type: string;
  field: string;
  surrogateKey: boolean;
  serves: readonly string[];
  category: string | null;
  mask: string | null;
}

const DataMapEntryRef = builder.objectRef<DataMapEntry>('DataMapEntry').implement({
  description: 'The purpose tag of one field of a personal-data type.',
  fields: (t) => ({
    type: t.exposeString('type', { nullable: false }),
    field: t.exposeString('field', { nullable: false }),
    surrogateKey: t.exposeBoolean('surrogateKey', { nullable: false }),
    serves: t.exposeStringList('serves', { nullable: false }),
    category: t.exposeString('category'),
    mask: t.exposeString('mask'),
  }),
});

type PurposeShape = (typeof PURPOSES)[number];

const RegimeBasis = builder
  .objectRef<{ regime: string; basis: string; sensitiveBasis: string }>('RegimeBasis')
  .implement({
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
    excludeRows: t.exposeBoolean('excludeRows', { nullable: false }),
    bases: t.field({
      type: [RegimeBasis],
      nullable: false,
      resolve: (p) =>
        REGIMES.map((regime) => ({ regime, basis: p.basis[regime], sensitiveBasis: p.sensitiveBasis[regime] })),
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
    description: 'Every tagged field of every personal-data type (schema owners and admins).',
    resolve: (_root, _args, _ctx, info) => {
      const entries: DataMapEntry[] = [];
      for (const type of Object.values(info.schema.getTypeMap())) {
        if (!isObjectType(type) || !type.extensions?.[TAG_EXTENSION]) continue;
        for (const field of Object.values(type.getFields())) {
          const tag = field.extensions?.[TAG_EXTENSION] as FieldTag | 'surrogate-key';
          entries.push(
            tag === 'surrogate-key'
              ? { type: type.name, field: field.name, surrogateKey: true, serves: [], category: null, mask: null }
              : {
                  type: type.name,
                  field: field.name,
                  surrogateKey: false,
                  serves: tag.serves,
                  category: tag.category,
                  mask: tag.mask.strategy,
                },
          );
        }
      }
      return entries.sort((a, b) => a.type.localeCompare(b.type) || a.field.localeCompare(b.field));
    },
  }),
}));
