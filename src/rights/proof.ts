import { createHmac } from 'node:crypto';

// What an erasure keeps of its subject: a keyed hash of the customer id under
// the proof key (CONSENTQL_PROOF_KEY). Whoever holds an id can prove it was
// erased (hash it, look it up); the table alone names no one, and without the
// key the ids cannot be tried one by one. Domain-separated from the IP hashes
// of consent proofs, which use the same key.

/** `hmac-sha256:<hex>` of the subject id. */
export function erasureSubjectHash(customerId: string, proofKey: string): string {
  const digest = createHmac('sha256', proofKey).update(`erasure:subject:${customerId.toLowerCase()}`).digest('hex');
  return `hmac-sha256:${digest}`;
}
