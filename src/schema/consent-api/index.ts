// The consent API: recording choices, proof, the change feed, the
// suppression list, the live subscription and webhook administration.
import { builder } from '../builder.ts';
import './ledger-fields.ts';
import './feed-fields.ts';
import './webhook-fields.ts';
import './access-record-fields.ts';
import './rights-fields.ts';
import './extract-fields.ts';

// Fields are attached by name, so the root types may be declared after them.
builder.mutationType({ description: 'Consent writes and webhook administration.' });
builder.subscriptionType({ description: 'Live consent changes over server-sent events.' });
