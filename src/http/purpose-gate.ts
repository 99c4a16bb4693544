import {
  getNamedType,
  isObjectType,
  Kind,
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConsentQLError } from '../errors.ts';
import { operationOf, rootTypeOf } from './operation.ts';
import { findPurpose, PURPOSE_KEYS } from '../policy/taxonomy.ts';
import { RequestConsent, TAG_EXTENSION } from '../schema/consent-plugin/index.ts';
import type { AuthenticatedClient, Context } from '../schema/context.ts';

/** Root fields anyone may read: they hold no personal data (schema exploration, the taxonomy). */
const PUBLIC_ROOT_FIELDS = new Set(['__schema', '__type', '__typename', 'purposes']);
/**
 * Before execution, once per request: authenticates the client and resolves
 * the declared purpose. An operation whose root fields can return personal
 * data (derived from the schema, not listed by hand) without a valid,
 * permitted purpose stops here with a coded error, before any data is read.
 */
export function usePurposeGate(): Plugin<Context> {
  const admit = async (
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    ctx: Context & { request: Request },
  ) => {
    const { fields, operation } = topLevelFields(document, operationName ?? undefined);
    const needs = [...fields].filter((f) => !PUBLIC_ROOT_FIELDS.has(f));
    // Mutations and subscriptions always need a client.
    if (needs.length === 0 && operation === 'query') return;
    ctx.client ??= await ctx.authenticate(ctx.request.headers.get('authorization'));
    const personal = personalDataRoots(schema, operation);
    if (needs.some((f) => personal.has(f))) ctx.consent = resolvePurpose(ctx.request.headers, ctx.client);
  };
  const gate = async (
    args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; contextValue: unknown },
    stop: (result: { errors: ConsentQLError[] }) => void,
  ) => {
    try {
      await admit(args.schema, args.document, args.operationName, args.contextValue as Context & { request: Request });
    } catch (error) {
      if (!(error instanceof ConsentQLError)) throw error;
      stop({ errors: [error] });
    }
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => gate(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => gate(args, setResultAndStopExecution),
  };
}

const rootsBySchema = new WeakMap<GraphQLSchema, Map<string, Set<string>>>();

/** The root fields of an operation type whose result can contain a personal-data type. */
export function personalDataRoots(schema: GraphQLSchema, operation: string): Set<string> {
  let byOperation = rootsBySchema.get(schema);
  if (!byOperation) {
    byOperation = new Map();
    rootsBySchema.set(schema, byOperation);
  }
  let roots = byOperation.get(operation);
  if (!roots) {
    const root = rootTypeOf(schema, operation);
    roots = new Set(
      Object.values(root?.getFields() ?? {})
        .filter((field) => reachesPersonalData(getNamedType(field.type), new Set()))
        .map((field) => field.name),
    );
    byOperation.set(operation, roots);
  }
  return roots;
}

function reachesPersonalData(type: GraphQLNamedType, seen: Set<string>): boolean {
  if (!isObjectType(type) || seen.has(type.name)) return false;
  if (type.extensions?.[TAG_EXTENSION]) return true;
  seen.add(type.name);
  return Object.values(type.getFields()).some((field) => reachesPersonalData(getNamedType(field.type), seen));
}

/** The purpose a request declares, checked against the taxonomy and the client's registration (also for POST /extracts). */
export function resolvePurpose(headers: Headers, client: AuthenticatedClient): RequestConsent {
  const declared = headers.get('x-purpose')?.trim();
  if (!declared) {
    throw new ConsentQLError(
      'PURPOSE_REQUIRED',
      `The X-Purpose header is required to read personal data; valid purposes: ${PURPOSE_KEYS.join(', ')}. ` +
        `This client may declare: ${client.allowedPurposes.join(', ') || 'none'}.`,
      { validPurposes: PURPOSE_KEYS },
    );
  }
  const purpose = findPurpose(declared);
  if (!purpose) {
    throw new ConsentQLError(
      'UNKNOWN_PURPOSE',
      `X-Purpose "${declared}" is not a purpose of the taxonomy; expected one of: ${PURPOSE_KEYS.join(', ')}.`,
      { received: declared, validPurposes: PURPOSE_KEYS },
    );
  }
  if (!client.allowedPurposes.includes(purpose.key)) {
    throw new ConsentQLError(
      'PURPOSE_NOT_ALLOWED',
      `Client "${client.name}" is not registered for the purpose "${purpose.key}"; it may declare: ` +
        `${client.allowedPurposes.join(', ') || 'none'}. Ask an admin to register the purpose for this client.`,
      { received: purpose.key, allowedPurposes: client.allowedPurposes },
    );
  }
  const explainHeader = headers.get('x-consent-explain')?.trim();
  const explain = explainHeader === '1' || explainHeader === 'true';
  if (explain && !client.canExplain) {
    throw new ConsentQLError(
      'EXPLAIN_NOT_ALLOWED',
      `Client "${client.name}" may not ask for masking reasons (X-Consent-Explain: 1). Remove the header, or ask an admin for the permission.`,
    );
  }
  return new RequestConsent(purpose, new Date(), explain);
}

/** The root field names an operation selects, through top-level fragments. */
function topLevelFields(document: DocumentNode, operationName: string | undefined): { fields: Set<string>; operation: string } {
  const { operation, fragments } = operationOf(document, operationName);
  const names = new Set<string>();
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) names.add(sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) visit(sel.selectionSet, seen);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const fragment = fragments.get(sel.name.value);
        if (fragment) visit(fragment.selectionSet, seen);
      }
    }
  };
  if (operation) visit(operation.selectionSet, new Set());
  return { fields: names, operation: operation?.operation ?? 'query' };
}
