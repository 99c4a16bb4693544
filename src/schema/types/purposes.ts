import type { PurposeKey } from '../../policy/taxonomy.ts';

// Named groups of purposes, so that field tags read as intent.
export const CONTRACT: PurposeKey[] = ['transactional', 'support'];
export const ALL_PURPOSES: PurposeKey[] = [
  'transactional',
  'support',
  'marketing',
  'analytics',
  'personalization',
  'ai_training',
  'ad_sharing',
  'consent_management',
];
