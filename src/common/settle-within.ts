/**
 * Waits for `promise`, but at most `ms`: resolves with its value, or with `fallback` when it
 * rejects or the time runs out first. The timer never outlives the wait. For bounded waits on
 * things the caller may give up on (a readiness probe, the last publishes of a closing bus,
 * answers still being written during a graceful stop).
 */
export function settleWithin<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise.catch(() => fallback), timeout]).finally(() => clearTimeout(timer));
}
