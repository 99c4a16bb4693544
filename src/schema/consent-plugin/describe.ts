import type { MaskSpec } from '../../masking/index.ts';
import type { FieldTag } from './types.ts';

// The purpose tag of a field, as a plain line at the end of its description,
// so that GraphiQL's documentation explorer shows what a client gets back
// without reading schema.graphql's `@purpose` directives.

export const SURROGATE_KEY_LINE = 'Surrogate key: returned with its row.';
export const PSEUDONYM_LINE = 'Your pseudonym for this subject under the declared purpose.';

/** What a client receives in place of the value when the field does not serve its purpose. */
export function describeMask(mask: MaskSpec): string {
  switch (mask.strategy) {
    case 'null':
      return 'null';
    case 'hmac':
      return 'hmac (keyed token)';
    case 'redact':
      return 'redact ([REDACTED])';
    case 'partial':
      return mask.kind === 'email'
        ? 'partial (first character and domain)'
        : mask.kind === 'phone'
          ? 'partial (last four digits)'
          : 'partial (first character)';
    case 'generalize':
      return mask.kind === 'year'
        ? 'generalize (year)'
        : mask.kind === 'prefix'
          ? `generalize (first ${mask.length ?? 2} characters)`
          : 'generalize (region, whole degrees)';
    default:
      // A strategy added to MaskSpec without a description here still names itself.
      return (mask as { strategy: string }).strategy;
  }
}

/** The line describing a tag, e.g. `Purposes: marketing · category: contact · otherwise: hmac (keyed token)`. */
export function tagLine(tag: FieldTag | 'surrogate-key' | 'pseudonym'): string {
  if (tag === 'surrogate-key') return SURROGATE_KEY_LINE;
  if (tag === 'pseudonym') return PSEUDONYM_LINE;
  const purposes = tag.serves.length > 0 ? tag.serves.join(', ') : 'none';
  return `Purposes: ${purposes} · category: ${tag.category} · otherwise: ${describeMask(tag.mask)}`;
}

/**
 * A field's description ending with its tag line: the schema owner's text (if
 * any), a blank line, then the tag line. Idempotent: a description that already
 * ends with the line is returned unchanged.
 */
export function describeTag(description: string | null | undefined, tag: FieldTag | 'surrogate-key' | 'pseudonym'): string {
  const line = tagLine(tag);
  const text = description?.trim() ?? '';
  if (text === '') return line;
  if (text.endsWith(line)) return text;
  return `${text}\n\n${line}`;
}
