import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/** The operation a request runs (the named one, or the first) and the document's fragments by name. */
export function operationOf(
  document: DocumentNode,
  operationName: string | null | undefined,
): { operation: OperationDefinitionNode | undefined; fragments: Map<string, FragmentDefinitionNode> } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: OperationDefinitionNode | undefined;
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    else if (def.kind === Kind.OPERATION_DEFINITION && (!operationName || def.name?.value === operationName)) {
      operation ??= def;
    }
  }
  return { operation, fragments };
}

/** The root type of an operation kind. */
export function rootTypeOf(schema: GraphQLSchema, kind: string): GraphQLObjectType | null | undefined {
  if (kind === 'mutation') return schema.getMutationType();
  if (kind === 'subscription') return schema.getSubscriptionType();
  return schema.getQueryType();
}
