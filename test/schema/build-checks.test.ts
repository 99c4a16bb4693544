import SchemaBuilder from '@pothos/core';
import type { GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import ConsentPlugin, { ConsentSchemaError, type PurposeTagOptions } from '../../src/schema/consent-plugin/index.ts';

interface Person {
  id: string;
  email: string;
  nickname: string;
  age: number;
}

/** A small personal-data schema built with only the consent plugin. */
function buildPersonSchema(fields: (t: any) => Record<string, unknown>) {
  // The Prisma plugin's global types ask every builder for `prisma` options; this one has no Prisma.
  const builder = new SchemaBuilder<{ Context: object }>({ plugins: [ConsentPlugin] } as never);
  const PersonRef = builder.objectRef<Person>('Person').implement({
    personalData: { subject: (p) => p.id },
    fields: fields as never,
  });
  builder.queryType({ fields: (t) => ({ person: t.field({ type: PersonRef, resolve: () => null as never }) }) });
  return () => builder.toSchema();
}

describe('the schema refuses to build when personal data could leave untagged or unmaskable', () => {
  it('fails on an untagged field, naming it', () => {
    const build = buildPersonSchema((t) => ({
      id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
      email: t.exposeString('email', { purpose: { serves: ['support'], category: 'contact', mask: 'hmac' } }),
      nickname: t.exposeString('nickname'),
    }));
    expect(build).toThrow(ConsentSchemaError);
    expect(build).toThrow(/Person\.nickname has no purpose tag/);
  });

  it('fails on a tagged field declared non-null', () => {
    const build = buildPersonSchema((t) => ({
      email: t.exposeString('email', {
        nullable: false,
        purpose: { serves: ['support'], category: 'contact', mask: 'null' },
      }),
    }));
    expect(build).toThrow(/Person\.email is non-null/);
  });

  it('fails on a mask that does not fit the field type', () => {
    const build = buildPersonSchema((t) => ({
      age: t.exposeInt('age', { purpose: { serves: ['analytics'], category: 'demographic', mask: 'hmac' } }),
    }));
    expect(build).toThrow(/Person\.age \(Int\) has mask 'hmac'/);
  });

  it('fails on a purpose tag on a type that is not a personal-data type', () => {
    const builder = new SchemaBuilder<{ Context: object }>({ plugins: [ConsentPlugin] } as never);
    const NoteRef = builder.objectRef<{ text: string }>('Note').implement({
      fields: (t: any) => ({ text: t.exposeString('text', { purpose: { serves: ['support'], category: 'contact', mask: 'null' } }) }),
    } as never);
    builder.queryType({ fields: (t) => ({ note: t.field({ type: NoteRef, resolve: () => null as never }) }) });
    expect(() => builder.toSchema()).toThrow(/Note\.text has a purpose tag, but Note is not a personal-data type/);
  });

  it('builds when every field is tagged, nullable and maskable', () => {
    const build = buildPersonSchema((t) => ({
      id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
      email: t.exposeString('email', { purpose: { serves: ['support'], category: 'contact', mask: 'hmac' } }),
      age: t.exposeInt('age', { purpose: { serves: ['analytics'], category: 'demographic', mask: 'null' } }),
    }));
    expect(build).not.toThrow();
  });

  it('rejects a misspelt purpose at compile time (checked by `npm test`, which type-checks first)', () => {
    // @ts-expect-error "markting" is not a purpose of the taxonomy
    const misspelt: PurposeTagOptions = { serves: ['markting'], category: 'contact', mask: 'hmac' };
    expect(misspelt.serves).toEqual(['markting']);
  });
});

describe('a row of a personal-data type reaches GraphQL only decided', () => {
  const fields = (t: any) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    email: t.exposeString('email', { purpose: { serves: ['support'], category: 'contact', mask: 'hmac' } }),
  });

  it('fails to build when a union or interface includes a personal-data type (its fields would not decide rows)', () => {
    const builder = new SchemaBuilder<{ Context: object }>({ plugins: [ConsentPlugin] } as never);
    const PersonRef = builder.objectRef<Person>('Person').implement({ personalData: { subject: (p: Person) => p.id }, fields } as never);
    const NoteRef = builder.objectRef<{ text: string }>('Note').implement({ fields: (t) => ({ text: t.exposeString('text') }) });
    const Anything = builder.unionType('Anything', { types: [PersonRef, NoteRef], resolveType: () => 'Note' });
    builder.queryType({ fields: (t) => ({ anything: t.field({ type: Anything, resolve: () => null as never }) }) });
    expect(() => builder.toSchema()).toThrow(/Anything includes the personal-data type Person/);
  });

  it("refuses, by the type's isTypeOf, a row that reached the type without its decisions", () => {
    const schema = buildPersonSchema(fields)();
    const person = schema.getType('Person') as GraphQLObjectType;
    const raw: Person = { id: 'p1', email: 'a@example.test', nickname: 'a', age: 30 };
    expect(person.isTypeOf?.(raw, {}, {} as never)).toBe(false);
    // The exposed columns have no resolver: they are read from the decided row.
    expect(person.getFields().email.resolve).toBeUndefined();
  });
});
