import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode, type FragmentDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConsentQLError } from '../errors.ts';
import { findPurpose, PURPOSE_KEYS } from '../policy/taxonomy.ts';
import { RequestConsent } from '../schema/consent-plugin/index.ts';
import type { AuthenticatedClient, Context } from '../schema/context.ts';

/** Root fields anyone may read: they hold no personal data (schema exploration, the taxonomy). */
const PUBLIC_ROOT_FIELDS = new Set(['__schema', '__type', '__typename', 'purposes']);
/**
 * Root fields that read personal data through the consent plugin and so need
 * a declared purpose. Any other root field needs an authenticated client, and
 * the shield decides what its role may do; should a new field read personal
 * data without being listed here, its tagged fields find no purpose and mask.
 */
export const PURPOSE_ROOT_FIELDS = new Set(['customer', 'customers']);

/**
 * Before execution, once per request: authenticates the client and resolves
 * the declared purpose. A request that reads personal data without a valid,
 * permitted purpose stops here with a coded error, before any data is read.
 */
export function usePurposeGate(): Plugin<Context> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context & { request: Request };
      const rootFields = topLevelFields(args.document, args.operationName ?? undefined);
      const needs = [...rootFields].filter((f) => !PUBLIC_ROOT_FIELDS.has(f));
      if (needs.length === 0) return;
      try {
        ctx.client = await ctx.authenticate(ctx.request.headers.get('authorization'));
        if (!needs.some((f) => PURPOSE_ROOT_FIELDS.has(f))) return;
        ctx.consent = resolvePurpose(ctx.request.headers, ctx.client);
      } catch (error) {
        if (!(error instanceof ConsentQLError)) throw error;
        setResultAndStopExecution({ errors: [error] });
      }
    },
  };
}

function resolvePurpose(headers: Headers, client: AuthenticatedClient): RequestConsent {
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
function topLevelFields(document: DocumentNode, operationName: string | undefined): Set<string> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: OperationDefinitionNode | undefined;
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    else if (def.kind === Kind.OPERATION_DEFINITION && (!operationName || def.name?.value === operationName)) {
      operation ??= def;
    }
  }
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
  if (operation) {
    visit(operation.selectionSet, new Set());
    // Mutations and subscriptions always need a client.
    if (operation.operation !== 'query') names.add(`${operation.operation}:`);
  }
  return names;
}
