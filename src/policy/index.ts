// The public API of the policy engine: vocabulary, taxonomy, regimes, decisions.
export * from './types.ts';
export * from './taxonomy.ts';
export * from './regime.ts';
export * from './decide.ts';
