import { GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { measureOperationCost, type CostWeights } from './query-cost.js';

export interface OperationBounds {
  /** Largest static cost, variables counted at their value (see operationCost). */
  maxCost: number;
  weights: CostWeights;
  /** Largest serialised result (one response, or one subscription event), in bytes. */
  maxResponseBytes: number;
}

/**
 * The bounds that need the operation's variables or its result, which
 * validation never sees (and whose results Yoga caches per document):
 * - the static cost with `first`/`limit` at their real values, checked before
 *   anything runs → VALIDATION_ERROR (`details.reason: query_cost`);
 * - the size of each result (HTTP response, SSE or WebSocket event): one over
 *   the limit is replaced whole by a VALIDATION_ERROR
 *   (`details.reason: response_too_large`) — never sent in part.
 * Both run for HTTP and WebSocket alike (the socket uses the same envelope).
 */
export function useOperationBounds(bounds: OperationBounds): Plugin {
  // Yoga's parser cache hands every request with the same text the same document: a cost that no
  // variable entered is kept per document (and operation name), not counted again per request.
  const documentCosts = new WeakMap<DocumentNode, Map<string, number>>();
  const costOf = (args: ExecutionArgs): number => {
    const operation = args.operationName ?? '';
    const known = documentCosts.get(args.document)?.get(operation);
    if (known !== undefined) return known;
    const { cost, usesVariables } = measureOperationCost(
      args.schema,
      args.document,
      args.operationName,
      args.variableValues,
      bounds.weights,
    );
    if (!usesVariables) {
      let byOperation = documentCosts.get(args.document);
      if (!byOperation) documentCosts.set(args.document, (byOperation = new Map<string, number>()));
      byOperation.set(operation, cost);
    }
    return cost;
  };
  const refuseIfTooCostly = (args: ExecutionArgs, stop: (result: ExecutionResult) => void) => {
    const cost = costOf(args);
    if (cost > bounds.maxCost) stop({ errors: [tooCostly(cost, bounds.maxCost)] });
  };
  const capSize = ({ result, setResult }: { result: ExecutionResult; setResult: (next: ExecutionResult) => void }) => {
    const replacement = replacementIfTooLarge(result, bounds.maxResponseBytes);
    if (replacement) setResult(replacement);
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      refuseIfTooCostly(args, setResultAndStopExecution);
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, capSize) };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      refuseIfTooCostly(args, setResultAndStopExecution);
      return { onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, capSize) };
    },
  };
}

function tooCostly(cost: number, maxCost: number): GraphQLError {
  const message = `Query cost limit of ${maxCost} exceeded, found ${Math.ceil(cost)} (first, last and limit count at their value, variables included)`;
  // Refused before anything ran: a client error, HTTP 400 like the document limits.
  return new GraphQLError(message, { extensions: { code: 'VALIDATION_ERROR', details: { reason: 'query_cost' }, http: { status: 400 } } });
}

/**
 * Serialises the result once to measure it. When it fits, the text is kept on
 * the result (Yoga's `result.stringify` hook) so that sending it does not
 * serialise it a second time; when it does not, the whole result is replaced.
 * A result whose strings alone exceed the limit is refused without being
 * serialised at all (six aliased pages of 1 MB arguments would otherwise make
 * a string too long for V8).
 */
function replacementIfTooLarge(result: ExecutionResult, maxBytes: number): ExecutionResult | undefined {
  if (atLeastBytes(result, maxBytes) <= maxBytes) {
    const text = JSON.stringify(result);
    // UTF-8 takes at least one byte per UTF-16 unit and at most three.
    const bytes = text.length > maxBytes || text.length * 3 <= maxBytes ? text.length : Buffer.byteLength(text);
    if (bytes <= maxBytes) {
      Object.defineProperty(result, 'stringify', {
        value: (value: unknown) => (value === result ? text : JSON.stringify(value)),
        enumerable: false,
        configurable: true,
      });
      return undefined;
    }
  }
  const limit = `${Math.round(maxBytes / 1024 / 1024)} MiB`;
  const error = new GraphQLError(`Response too large: more than ${limit}; ask for fewer items or fields`, {
    extensions: { code: 'VALIDATION_ERROR', details: { reason: 'response_too_large', limit_bytes: maxBytes } },
  });
  return { data: null, errors: [error] };
}

/**
 * A lower bound of the serialised size: the characters of every string and
 * key (JSON adds quotes, separators and escapes on top). Stops counting as
 * soon as it passes `stopAbove`.
 */
function atLeastBytes(value: unknown, stopAbove: number): number {
  let total = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && total <= stopAbove) {
    const next = pending.pop();
    if (typeof next === 'string') total += next.length;
    else if (Array.isArray(next)) for (const item of next) pending.push(item);
    else if (next !== null && typeof next === 'object') {
      // for…in over a result's plain objects: no entries array allocated per object, on every response.
      const record = next as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        total += key.length;
        pending.push(record[key]);
      }
    }
  }
  return total;
}
