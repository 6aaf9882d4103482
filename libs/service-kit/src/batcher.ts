/**
 * Group commit: items added while a write is in flight wait for it and go together in the next one, so
 * an idle system adds no delay and a busy one writes many items per round trip. `write` answers one result
 * per item, in order; when it throws, every item of that write is rejected with the error.
 */
export function createBatcher<I, O>(write: (items: I[]) => Promise<O[]>, opts: { maxItems: number; maxConcurrent: number }) {
  const waiting: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  let inFlight = 0;

  const pump = () => {
    while (inFlight < opts.maxConcurrent && waiting.length > 0) {
      const batch = waiting.splice(0, opts.maxItems);
      inFlight++;
      write(batch.map((w) => w.item))
        .then(
          (results) => batch.forEach((w, i) => w.resolve(results[i] as O)),
          (err: unknown) => batch.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };

  return {
    add(items: I[]): Promise<O[]> {
      const done = Promise.all(items.map((item) => new Promise<O>((resolve, reject) => waiting.push({ item, resolve, reject }))));
      pump();
      return done;
    },
  };
}
export type Batcher<I, O> = ReturnType<typeof createBatcher<I, O>>;
