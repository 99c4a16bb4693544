import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SourceLocation,
} from 'graphql';
import { isThenable } from '@pothos/core';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

// Queries run compiled (graphql-jit): each validated document is turned once
// into a JavaScript function that walks its selection and calls the schema's
// own resolvers (the consent plugin's wrappers among them) with the same
// arguments, so every field is decided as under graphql-js; what goes is the
// interpreter's per-field work (collecting fields, looking up their
// definitions, building the result). Mutations and subscriptions, and any
// document the compiler refuses, run on graphql-js. A new document costs one
// compilation (bounded by the token limit); the compiled functions go with
// Yoga's parsed-document cache.
//
// The Pothos Prisma plugin finds the data a parent row was loaded with by the
// field's execution path; graphql-jit builds new path objects on every call,
// so that lookup keys paths by their content (patches/@pothos+selection-mapper*).
// test/api/round-trips.test.ts would see nested lists loaded again otherwise.

/** Compiled operations of a document, by operation name; null: run on graphql-js. */
type Compiled = Map<string, CompiledQuery | null>;

function queryOperation(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = name ? operations.find((o) => o.name?.value === name) : operations.length === 1 ? operations[0] : undefined;
  return operation?.operation === 'query' ? operation : undefined;
}

/** The offset in `body` of a line and column (1-based). */
function offsetOf(body: string, { line, column }: SourceLocation): number {
  let offset = 0;
  for (let n = 1; n < line; n++) offset = body.indexOf('\n', offset) + 1;
  return offset + column - 1;
}

/**
 * graphql-jit's errors carry the locations of their field but not the document's source, which
 * graphql-js's do: the error log names the operation and a digest of the document from it
 * (src/http/error-log.ts). Each is made again as graphql-js makes it, with the same message,
 * path, original error and extensions.
 */
function withSource(result: ExecutionResult, document: DocumentNode): ExecutionResult {
  const source = document.loc?.source;
  if (!result.errors?.length || !source) return result;
  const errors = result.errors.map((error) =>
    error.source
      ? error
      : new GraphQLError(error.message, {
          source,
          positions: error.locations?.map((location) => offsetOf(source.body, location)),
          path: error.path,
          originalError: error.originalError,
          extensions: error.extensions,
        }),
  );
  return { ...result, errors };
}

export function useCompiledExecution(schema: GraphQLSchema): Plugin {
  // Keyed by the parsed document, which Yoga's parser cache keeps (and lets go) per query text.
  const byDocument = new WeakMap<DocumentNode, Compiled>();
  const compiledFor = (document: DocumentNode, operationName: string | null | undefined): CompiledQuery | null => {
    let compiled = byDocument.get(document);
    if (!compiled) {
      compiled = new Map();
      byDocument.set(document, compiled);
    }
    const key = operationName ?? '';
    let query = compiled.get(key);
    if (query === undefined) {
      const result = queryOperation(document, operationName) ? compileQuery(schema, document, operationName ?? undefined) : null;
      query = result && isCompiledQuery(result) ? result : null;
      compiled.set(key, query);
    }
    return query;
  };
  return {
    onExecute({ args, setExecuteFn }) {
      // The schema the request runs on is the one compiled against (the server's own, with its permissions).
      if (args.schema !== schema) return;
      const query = compiledFor(args.document, args.operationName);
      if (!query) return;
      setExecuteFn((run) => {
        const result = query.query(run.rootValue, run.contextValue, run.variableValues ?? {});
        return (isThenable(result) ? result.then((r) => withSource(r, run.document)) : withSource(result, run.document)) as never;
      });
    },
  };
}
