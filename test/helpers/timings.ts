/** Wall-clock timings of a scenario's steps, printed as one comment: figures to read, never asserted. */
export interface Timings {
  /** Runs `f`, recording how long it took under `what`, whether it resolved or threw. */
  timed: <T>(what: string, f: () => Promise<T>) => Promise<T>;
  /** `timings (ms): {…}` for t.comment(). */
  summary: () => string;
}

export function createTimings(): Timings {
  const timings: Record<string, number> = {};
  return {
    timed: async (what, f) => {
      const started = Date.now();
      try {
        return await f();
      } finally {
        timings[what] = Date.now() - started;
      }
    },
    summary: () => `timings (ms): ${JSON.stringify(timings)}`,
  };
}
