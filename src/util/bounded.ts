/**
 * Waits for `work` at most `ms`, then moves on (the timer does not keep the process alive).
 * For shutdown steps that talk to Redis: with Redis gone a graceful close would wait forever.
 */
export async function bounded(work: Promise<unknown>, ms: number, onError?: (err: unknown) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch((err: unknown) => onError?.(err)),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
