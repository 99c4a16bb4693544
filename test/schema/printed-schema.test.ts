import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSchema, printSchema } from '../../src/schema/index.ts';

describe('schema.graphql', () => {
  it('matches the schema the server builds (run `npm run schema:print` after a change)', () => {
    const onDisk = fs.readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(onDisk).toBe(printSchema(buildSchema()));
  });

  it('shows the purpose tags as directives', () => {
    const printed = printSchema(buildSchema());
    expect(printed).toContain('email: String @purpose(serves: [transactional, support, marketing], category: contact, mask: "hmac")');
    expect(printed).toContain('directive @purpose(');
  });
});
