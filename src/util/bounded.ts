// Time bounds for calls to the gateway's own store (Redis): shutdown steps and store operations.
import { StoreOutage } from './store-outage.ts';

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

export class DeadlineExceeded extends StoreOutage {
  override readonly name = 'DeadlineExceeded';
}

/** `work`'s result, or a DeadlineExceeded rejection after `ms` (the work itself is not cancelled). */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceeded(`${what} took longer than ${ms} ms`)), ms);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
