import './global-types.ts';
import SchemaBuilder, { BasePlugin, isThenable, type PothosOutputFieldConfig, type PothosTypeConfig, type SchemaTypes } from '@pothos/core';
import { getNamedType, isListType, isNonNullType, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { maskFitsType, type MaskableType, type MaskSpec, type Masker } from '../../masking/index.ts';
import { decideNotice } from '../../policy/index.ts';
import { describeTag } from './describe.ts';
import { ConsentQLError } from '../../errors.ts';
import { ConsentSchemaError } from './errors.ts';
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

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    const tag = fieldConfig.extensions?.[TAG_EXTENSION] as FieldTag | SubjectKeyTag | undefined;
    if (!tag || this.options.consentEnforcement === 'off-for-benchmark-baseline') return resolver;
    const typeConfig = this.buildCache.getTypeConfig(fieldConfig.parentType);
    const personalData = (typeConfig.pothosOptions as { personalData?: PersonalDataOptions<unknown> }).personalData;
    // Refused in afterBuild with a clear message (checkPersonalDataTypes); never served undecided.
    if (!personalData) return () => null;
    const subjectOf = personalData.subject;
    const notice = personalData.notice ?? false;
    const carriedPseudonym = personalData.pseudonym;

    if (tag === 'surrogate-key' || tag === 'pseudonym') {
      // Names the subject: only where the subject may be processed at all.
      return (parent, args, context, info) => {
        const subjectId = subjectOf(parent);
        if (subjectId === null) {
          // A notice of an erased subject: no id left, only the pseudonyms it carries.
          const { consent } = context as unknown as ConsentContext;
          return tag === 'pseudonym' && notice && consent ? (carriedPseudonym?.(parent, consent.purpose.key) ?? null) : null;
        }
        const consent = requireSubject(context, subjectId, notice);
        if (tag === 'surrogate-key') return resolver(parent, args, context, info);
        return (context as unknown as ConsentContext).masker.pseudonym(subjectId, consent.purpose.key);
      };
    }
    const { mask } = tag;
    // Numbered once, at build time: the access record lists each subject's fields by it.
    const field = fieldNumber(`${fieldConfig.parentType}.${fieldConfig.name}`);

    return (parent, args, context, info) => {
      const { consent, masker } = context as unknown as ConsentContext;
      if (!consent) {
        // No declared purpose means no decision: never open.
        return null;
      }
      const subjectId = subjectOf(parent);
      if (subjectId === null) {
        // A notice of an erased subject: decided by the tag alone, with no subject to record; never on other types.
        return notice && decideNotice(consent.purpose, tag).effect === 'allow' ? resolver(parent, args, context, info) : null;
      }
      const decision = notice ? consent.noticeDecision(subjectId, tag, field) : consent.decision(subjectId, tag, field);
      if (decision.effect === 'allow') return resolver(parent, args, context, info);
      consent.recordMask(info, decision);
      // A subject without a legal basis gets no value in any form: no token, no partial value.
      if (decision.effect === 'exclude' || mask.strategy === 'null') return null;
      const value = resolver(parent, args, context, info);
      if (isThenable(value)) {
        return Promise.resolve(value).then((v) => masker.apply(mask, v, consent.purpose.key));
      }
      return masker.apply(mask, value, consent.purpose.key);
    };
  }
}

/**
 * The request's consent, when the subject of a row may be named: a row of a
 * subject without a legal basis should never have been loaded (the loaders
 * filter in SQL and again in code), so reaching one is refused, not returned.
 */
function requireSubject(context: unknown, subjectId: string, notice: boolean): RequestConsent {
  const { consent } = context as ConsentContext;
  if (!consent) {
    throw new ConsentQLError('PURPOSE_REQUIRED', 'A declared purpose (X-Purpose header) is required to read personal data.');
  }
  if (notice) consent.reference(subjectId);
  else if (!consent.permits(subjectId)) {
    throw new ConsentQLError(
      'CONSENT_UNAVAILABLE',
      'A record was reached without a consent decision for the declared purpose, so it is withheld. Retry; if it persists, report it.',
    );
  }
  return consent;
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
