import './global-types.ts';
import SchemaBuilder, {
  BasePlugin,
  isThenable,
  type PothosObjectTypeConfig,
  type PothosOutputFieldConfig,
  type PothosOutputFieldType,
  type PothosTypeConfig,
  type SchemaTypes,
} from '@pothos/core';
import {
  defaultFieldResolver,
  getNamedType,
  isAbstractType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLFieldResolver,
  type GraphQLIsTypeOfFn,
  type GraphQLSchema,
} from 'graphql';
import { maskFitsType, type MaskableType, type MaskSpec, type Masker } from '../../masking/index.ts';
import { decideNotice } from '../../policy/index.ts';
import { describeTag } from './describe.ts';
import { ConsentSchemaError } from './errors.ts';
import { decideRows, isDecided, requireSubject, rowOf, type PersonalType, type RowField } from './decided-rows.ts';
import { fieldNumber, type RequestConsent } from './request-consent.ts';
import {
  TAG_EXTENSION,
  type FieldTag,
  type MaskOption,
  type PersonalDataOptions,
  type PurposeTagOptions,
  type SubjectKeyTag,
  type TypeTag,
} from './types.ts';

export * from './types.ts';
export { RequestConsent } from './request-consent.ts';
export { ConsentSchemaError } from './errors.ts';

/** What the plugin needs from the request context. */
export interface ConsentContext {
  consent: RequestConsent | null;
  masker: Masker;
}

const pluginName = 'consent';

/**
 * The only bridge between field tags and decisions. At build time it checks
 * that every field of a personal-data type is tagged, nullable and has a mask
 * that fits its type, and records the tag in the field's extensions (printed
 * as `@purpose` and read by `dataMap`). At run time it wraps tagged fields
 * with a synchronous decision lookup; untagged fields keep their resolver.
 */
export class PothosConsentPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onTypeConfig(typeConfig: PothosTypeConfig): PothosTypeConfig {
    const personalData = typeConfig.kind === 'Object' ? typeConfig.pothosOptions.personalData : undefined;
    if (!personalData) return typeConfig;
    const tag: TypeTag = { personalData: true, notice: personalData.notice ?? false };
    return { ...typeConfig, extensions: { ...typeConfig.extensions, [TAG_EXTENSION]: tag } };
  }

  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const option = fieldConfig.pothosOptions.purpose;
    if (!option) return fieldConfig;
    const tag = typeof option === 'string' ? option : normaliseTag(option);
    const directive =
      tag === 'surrogate-key'
        ? { surrogateKey: true }
        : tag === 'pseudonym'
          ? { pseudonym: true }
          : { serves: tag.serves, category: tag.category, mask: tag.mask.strategy };
    return {
      ...fieldConfig,
      description: describeTag(fieldConfig.description, tag),
      extensions: {
        ...fieldConfig.extensions,
        [TAG_EXTENSION]: tag,
        directives: { purpose: [directive] },
      },
    };
  }

  override afterBuild(schema: GraphQLSchema): GraphQLSchema {
    checkPersonalDataTypes(schema);
    return schema;
  }

  /** Personal-data types by name, with the fields decided with their rows (filled as the fields are built). */
  private readonly personalTypes = new Map<string, PersonalType>();

  private get enforcing(): boolean {
    return this.options.consentEnforcement !== 'off-for-benchmark-baseline';
  }

  private personalType(typeName: string): PersonalType | null {
    let personal = this.personalTypes.get(typeName);
    if (!personal) {
      const options = (this.buildCache.getTypeConfig(typeName).pothosOptions as { personalData?: PersonalDataOptions<object> })
        .personalData;
      if (!options) return null;
      personal = { options, fields: new Map() };
      this.personalTypes.set(typeName, personal);
    }
    return personal;
  }

  /** The personal-data type a field returns (as itself or in lists), or null. */
  private returnedPersonalType(type: PothosOutputFieldType<Types>): PersonalType | null {
    let named = type;
    while (named.kind === 'List') named = named.type;
    if (named.kind !== 'Object') return null;
    return this.personalType(this.buildCache.getTypeConfig(named.ref).name);
  }

  /** A personal-data type accepts only decided rows (see decided-rows.ts): anything else is an error, not data. */
  override wrapIsTypeOf(
    isTypeOf: GraphQLIsTypeOfFn<unknown, Types['Context']> | undefined,
    typeConfig: PothosObjectTypeConfig,
  ): GraphQLIsTypeOfFn<unknown, Types['Context']> | undefined {
    if (!this.enforcing || !typeConfig.pothosOptions.personalData) return isTypeOf;
    return (value) => isDecided(value);
  }

  /**
   * The row property a tagged field exposes, with its tag, when it is decided
   * with its row and read in place (see decided-rows.ts): an exposed column of
   * a personal-data type, not a pseudonym, not itself a personal-data type.
   */
  private rowColumn(
    fieldConfig: PothosOutputFieldConfig<Types>,
    tag: FieldTag | SubjectKeyTag,
    returned: PersonalType | null,
  ): Omit<RowField, 'number'> | undefined {
    const column = fieldConfig.extensions?.pothosExposedField as string | undefined;
    return column !== undefined && !returned && tag !== 'pseudonym' ? { column, tag } : undefined;
  }

  /**
   * The benchmark's baseline: the same build without decisions. A column the
   * enforced build reads off its decided row is read in place here too, not
   * through the Prisma plugin's per-field check, so that the two builds differ
   * by the decisions alone.
   */
  private baselineResolver(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const tag = fieldConfig.extensions?.[TAG_EXTENSION] as FieldTag | SubjectKeyTag | undefined;
    if (!tag || !this.personalType(fieldConfig.parentType)) return resolver;
    const column = this.rowColumn(fieldConfig, tag, this.returnedPersonalType(fieldConfig.type))?.column;
    if (column === undefined) return resolver;
    return column === fieldConfig.name ? defaultFieldResolver : (parent) => (parent as Record<string, unknown>)[column];
  }

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (!this.enforcing) return this.baselineResolver(resolver, fieldConfig);
    const returned = this.returnedPersonalType(fieldConfig.type);
    // What a field returns of a personal-data type, it returns as decided rows.
    const resolve: GraphQLFieldResolver<unknown, Types['Context'], object> = returned
      ? (parent, args, context, info) => {
          const value = resolver(parent, args, context, info);
          const ctx = context as unknown as ConsentContext;
          return isThenable(value)
            ? Promise.resolve(value).then((v) => decideRows(v, info, returned, ctx))
            : decideRows(value, info, returned, ctx);
        }
      : resolver;
    const tag = fieldConfig.extensions?.[TAG_EXTENSION] as FieldTag | SubjectKeyTag | undefined;
    if (!tag) return resolve;
    const personal = this.personalType(fieldConfig.parentType);
    // Refused in afterBuild with a clear message (checkPersonalDataTypes); never served undecided.
    if (!personal) return () => null;
    // Numbered once, at build time: the access record lists each subject's fields by it.
    const field = fieldNumber(`${fieldConfig.parentType}.${fieldConfig.name}`);
    const rowColumn = this.rowColumn(fieldConfig, tag, returned);
    if (rowColumn) {
      // A column of the row: decided with the row and read in place (no resolver), see decided-rows.ts.
      personal.fields.set(fieldConfig.name, { ...rowColumn, number: field });
      return defaultFieldResolver;
    }
    const { subject: subjectOf, notice = false, pseudonym: carriedPseudonym } = personal.options;

    if (tag === 'surrogate-key' || tag === 'pseudonym') {
      // Names the subject: only where the subject may be processed at all.
      return (parent, args, context, info) => {
        const row = rowOf(parent);
        const subjectId = subjectOf(row);
        const { consent, masker } = context as unknown as ConsentContext;
        if (subjectId === null) {
          // A notice of an erased subject: no id left, only the pseudonyms it carries.
          return tag === 'pseudonym' && notice && consent ? (carriedPseudonym?.(row, consent.purpose.key) ?? null) : null;
        }
        const allowed = requireSubject(consent, subjectId, notice);
        if (tag === 'surrogate-key') return resolve(row, args, context, info);
        return masker.pseudonym(subjectId, allowed.purpose.key);
      };
    }
    const { mask } = tag;

    return (parent, args, context, info) => {
      const { consent, masker } = context as unknown as ConsentContext;
      if (!consent) {
        // No declared purpose means no decision: never open.
        return null;
      }
      const row = rowOf(parent);
      const subjectId = subjectOf(row);
      if (subjectId === null) {
        // A notice of an erased subject: decided by the tag alone, with no subject to record; never on other types.
        return notice && decideNotice(consent.purpose, tag).effect === 'allow' ? resolve(row, args, context, info) : null;
      }
      const decision = notice ? consent.noticeDecision(subjectId, tag, field) : consent.decision(subjectId, tag, field);
      if (decision.effect === 'allow') return resolve(row, args, context, info);
      consent.recordMask(info, decision);
      // A subject without a legal basis gets no value in any form: no token, no partial value.
      if (decision.effect === 'exclude' || mask.strategy === 'null') return null;
      const value = resolve(row, args, context, info);
      if (isThenable(value)) {
        return Promise.resolve(value).then((v) => masker.apply(mask, v, consent.purpose.key));
      }
      return masker.apply(mask, value, consent.purpose.key);
    };
  }
}

function normaliseTag(option: PurposeTagOptions): FieldTag {
  return {
    serves: [...option.serves],
    category: option.category,
    mask: normaliseMask(option.mask),
    sensitive: option.category === 'sensitive',
  };
}

function normaliseMask(mask: MaskOption): MaskSpec {
  return typeof mask === 'string' ? ({ strategy: mask } as MaskSpec) : mask;
}

/**
 * Fails the build, naming the field, when a personal-data field is untagged,
 * non-null (a mask could not return null or a token) or has a mask that does
 * not fit its type.
 */
function checkPersonalDataTypes(schema: GraphQLSchema): void {
  const problems: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isAbstractType(type)) {
      // A field of an interface or union type is not wrapped to return decided rows (see wrapResolve).
      for (const member of schema.getPossibleTypes(type)) {
        if (member.extensions?.[TAG_EXTENSION]) {
          problems.push(
            `${type.name} includes the personal-data type ${member.name}: its rows are decided only where a field returns ` +
              `${member.name} itself. Return ${member.name} (or a list of it) instead.`,
          );
        }
      }
    }
    if (!isObjectType(type)) continue;
    const typeTag = type.extensions?.[TAG_EXTENSION] as TypeTag | undefined;
    if (!typeTag) {
      // A purpose tag on a type that does not say whose data it holds would never be decided (see wrapResolve).
      for (const field of Object.values(type.getFields())) {
        if (field.extensions?.[TAG_EXTENSION]) {
          problems.push(
            `${type.name}.${field.name} has a purpose tag, but ${type.name} is not a personal-data type: its tags could not ` +
              'be decided. Declare `personalData: { subject: ... }` on the type, or remove the tag.',
          );
        }
      }
      continue;
    }
    for (const field of Object.values(type.getFields())) {
      const name = `${type.name}.${field.name}`;
      const tag = field.extensions?.[TAG_EXTENSION] as FieldTag | SubjectKeyTag | undefined;
      if (!tag) {
        problems.push(
          `${name} has no purpose tag. Every field of a personal-data type needs one: add ` +
            `\`purpose: { serves: [...], category: ..., mask: ... }\` (or 'surrogate-key' for a generated id).`,
        );
        continue;
      }
      if (tag === 'surrogate-key') continue;
      if (tag === 'pseudonym') {
        if (getNamedType(field.type).name !== 'String' || isListType(field.type)) {
          problems.push(`${name} is tagged 'pseudonym' but is ${String(field.type)}: a pseudonym is a String.`);
        }
        continue;
      }
      if (typeTag.notice && tag.sensitive) {
        problems.push(`${name} is special-category data on a notice type: notices carry no sensitive data. Remove the field.`);
        continue;
      }
      if (isNonNullType(field.type)) {
        problems.push(`${name} is non-null, but a masked field must be able to return null: declare it nullable.`);
        continue;
      }
      const named = getNamedType(field.type);
      const maskable: MaskableType = isListType(field.type)
        ? isObjectType(named)
          ? 'list'
          : (`[${named.name}]` as MaskableType)
        : isObjectType(named)
          ? 'object'
          : (named.name as MaskableType);
      const misfit = maskFitsType(tag.mask, maskable);
      if (misfit) problems.push(`${name} (${String(field.type)}) has mask '${tag.mask.strategy}': ${misfit}`);
    }
  }
  if (problems.length > 0) {
    throw new ConsentSchemaError(`The schema does not build:\n- ${problems.join('\n- ')}`);
  }
}

SchemaBuilder.registerPlugin(pluginName, PothosConsentPlugin);

export default pluginName;
