import type { DocumentNode, FieldNode, SelectionNode } from 'graphql';
import { graphql } from './graphql-realm.js';

const { Kind, valueFromASTUntyped } = graphql;

/** One top-level field of a request, as the fake's request log records it. */
export interface FieldCall {
  readonly alias: string;
  readonly field: string;
  readonly query?: string;
  readonly login?: string;
  readonly first?: number;
  readonly after?: string | null;
}

/** The top-level fields of the operation with their arguments (variables resolved). */
export function describeCalls(document: DocumentNode, variables: Record<string, unknown>): FieldCall[] {
  const calls: FieldCall[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const selection of definition.selectionSet.selections) {
      if (selection.kind !== Kind.FIELD) continue;
      const args = argumentsOf(selection, variables);
      const nested = selection.selectionSet?.selections.find((inner: SelectionNode): inner is FieldNode => inner.kind === Kind.FIELD && inner.name.value === 'repositories');
      const paging = nested ? argumentsOf(nested, variables) : args;
      calls.push({
        alias: selection.alias?.value ?? selection.name.value,
        field: selection.name.value,
        query: typeof args.query === 'string' ? args.query : undefined,
        login: typeof args.login === 'string' ? args.login : undefined,
        first: typeof paging.first === 'number' ? paging.first : undefined,
        after: typeof paging.after === 'string' ? paging.after : null,
      });
    }
  }
  return calls;
}

function argumentsOf(field: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries((field.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value, variables)]));
}
