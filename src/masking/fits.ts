import type { MaskSpec, MaskableType } from './types.ts';

/** The types each strategy can produce a value of (besides `null`, which fits all). */
const FITS: Record<Exclude<MaskSpec['strategy'], 'null'>, readonly MaskableType[]> = {
  redact: ['String', '[String]'],
  hmac: ['String'],
  partial: ['String'],
  generalize: ['String'],
};

const PARTIAL_KINDS = ['email', 'phone', 'text'];
const GENERALIZE_KINDS = ['year', 'prefix', 'region'];

/**
 * Whether `spec` can mask a field of `type`: null when it fits, otherwise a
 * sentence saying what fits, for the schema builder to prefix with the field name.
 */
export function maskFitsType(spec: MaskSpec, type: MaskableType): string | null {
  const strategy = (spec as { strategy?: unknown } | null)?.strategy;
  if (strategy === 'null') return null;
  if (typeof strategy !== 'string' || !Object.hasOwn(FITS, strategy)) {
    return `mask strategy must be one of null, redact, hmac, partial, generalize, but got: ${JSON.stringify(strategy)}`;
  }
  const problem = specProblem(spec);
  if (problem) return problem;
  const fits = FITS[strategy as keyof typeof FITS];
  if (fits.includes(type)) return null;
  return `mask '${strategy}' fits ${fits.join(' and ')} fields only, but the field is ${type}; use { strategy: 'null' } for a ${type} field`;
}

function specProblem(spec: MaskSpec): string | null {
  if (spec.strategy === 'partial' && !PARTIAL_KINDS.includes(spec.kind)) {
    return `mask 'partial' needs kind 'email', 'phone' or 'text', but got: ${JSON.stringify(spec.kind)}`;
  }
  if (spec.strategy === 'generalize') {
    if (!GENERALIZE_KINDS.includes(spec.kind)) {
      return `mask 'generalize' needs kind 'year', 'prefix' or 'region', but got: ${JSON.stringify(spec.kind)}`;
    }
    const { length } = spec;
    if (length !== undefined && (spec.kind !== 'prefix' || !Number.isInteger(length) || length < 1)) {
      return `mask 'generalize' takes a length only with kind 'prefix', as a whole number of at least 1, but got kind ${JSON.stringify(spec.kind)} with length ${JSON.stringify(length)}`;
    }
  }
  return null;
}
