// The tables the seed writes (and counts in its summary), and every table that
// `reset` empties.

export const SEED_TABLES = [
  'purpose',
  'api_client',
  'customer',
  'order',
  'order_item',
  'support_ticket',
  'ticket_message',
  'marketing_interaction',
  'web_event',
  'consent_event',
  'consent_state',
] as const;
export type SeedTable = (typeof SEED_TABLES)[number];

/** Every application table, children first (what `reset` empties). */
export const ALL_TABLES = [
  'webhook_delivery',
  'webhook_subscription',
  'propagation_cursor',
  'outbox_event',
  'access_record',
  'consent_state',
  'consent_idempotency',
  'consent_event',
  'ticket_message',
  'support_ticket',
  'order_item',
  'order',
  'marketing_interaction',
  'web_event',
  'customer',
  'api_client',
  'purpose',
] as const;
