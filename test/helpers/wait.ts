/**
 * Poll a real condition until it holds, with a hard time bound. For conditions the test cannot be
 * notified of (a row reaching a status, a process writing a file); never a substitute for awaiting
 * something that has a promise.
 */
export interface WaitForOptions {
  timeoutMs: number;
  /** Pause between polls; default 50 ms. */
  intervalMs?: number;
  /** Named in the timeout error, e.g. "task 3 to reach DONE". */
  what: string;
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  { timeoutMs, intervalMs = 50, what }: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      // A failing probe (e.g. server not up yet) counts as "not yet"; reported if we time out.
      lastError = err;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const cause = lastError === undefined ? '' : `; last error: ${String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
}
