// Bounded concurrency for independent work items (clusters, Teams API requests): enough at once to
// hide latency, few enough not to swamp the API server or a Postgres.

/** Runs `work` over `items`, at most `limit` at a time; results in input order. A throw rejects the whole run. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** mapLimited for work whose results nobody needs. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  await mapLimited(items, limit, work);
}
