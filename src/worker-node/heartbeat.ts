/** The wrapper's heartbeats while the command runs (Jobmon's log_report_by loop). */
import type { ApiClient } from './api-client';

/** `{ status }` of an API answer, if it has one. */
export function statusOf(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null && 'status' in body
    ? String((body as { status: unknown }).status)
    : undefined;
}

/**
 * Heartbeats every `intervalS` while the command runs; one attempt each (the next heartbeat is the
 * retry, and report_by leaves room for ~3 misses). A K answer calls `onKill` once.
 */
export class Heartbeat {
  killRequested = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(
    private readonly api: ApiClient,
    private readonly id: number,
    private readonly distributorId: string,
    private readonly intervalS: number,
    private readonly log: (m: string) => void,
    private readonly onKill: () => void,
  ) {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const ms = Math.max(50, (Number(this.intervalS) || 10) * 1000);
    this.#timer = setTimeout(() => void this.#beat().finally(() => this.#schedule()), ms);
  }

  async #beat(): Promise<void> {
    try {
      const res = await this.api.post(
        `/task-instances/${this.id}/heartbeat`,
        { distributor_id: this.distributorId },
        { retry: false, signal: this.#abort.signal },
      );
      const status = statusOf(res.body);
      if (res.status >= 400) this.log(`heartbeat refused: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      else if (status === 'K' && !this.killRequested && !this.#stopped) {
        this.killRequested = true;
        this.log('heartbeat answered K: killing the command');
        this.onKill();
      }
    } catch (err) {
      if (!this.#stopped) this.log(`heartbeat failed (the next one will retry): ${(err as Error).message}`);
    }
  }

  /** Stop and abort a heartbeat in flight, so none reaches the API after the final report. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort();
  }
}
