// Mask strategies, as written in field policies. Pure data: no GraphQL.

export type MaskSpec =
  | { strategy: 'null' }
  | { strategy: 'redact' }
  | { strategy: 'hmac' }
  | { strategy: 'partial'; kind: 'email' | 'phone' | 'text' }
  | { strategy: 'generalize'; kind: 'year' | 'prefix' | 'region'; length?: number };

export type MaskStrategy = MaskSpec['strategy'];

/** The output type of a field, as the schema builder sees it. */
export type MaskableType = 'String' | '[String]' | 'Int' | 'Float' | 'Boolean' | 'ID' | 'DateTime' | 'Decimal' | 'object' | 'list';

export interface HmacKey {
  /** Short key id, written into every token so that a rotation is visible. */
  id: string;
  secret: Buffer;
}

export interface HmacKeyring {
  /** Signs every new token. */
  current: HmacKey;
  /** Earlier keys, newest first: kept so that operators can tell which key made an old token. */
  previous: readonly HmacKey[];
}

export interface Masker {
  /** Synchronous; null and undefined always mask to null. */
  apply(spec: MaskSpec, value: unknown, purposeKey: string): unknown;
  /**
   * The subject's pseudonym under a purpose: a stable keyed token of its id,
   * the one handle a consumer holds and is told to drop a subject by.
   */
  pseudonym(subjectId: string, purposeKey: string): string;
}
