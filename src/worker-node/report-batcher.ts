/**
 * The local executor's reports: the running, done and error reports of all its tasks go to the
 * API many per request (POST /task-instances/reports), over one kept-alive connection per API and
 * token, instead of one request (and, per task, one connection) each. Every HTTP request costs the
 * services a read and a write on a socket, and so does every statement they send to Postgres:
 * batching divides both by the batch size.
 *
 * Group commit, no timer: a report leaves at once when no batch to its API is in flight; while one
 * is, reports queue and leave together when it is answered. So an idle executor adds no latency,
 * and a busy one sends fewer, larger requests.
 *
 * Each report is answered with what its single route would have answered ({ status, body }), so
 * the wrapper's code judges it the same way. The batch is retried as a single report is (the
 * API's outage is ridden out, then every report of it fails with ApiUnavailableError); the server
 * makes re-sent reports harmless (a repeated running report gets the same answer, a repeated end
 * changes nothing). An API without the batch route (older) gets single reports from then on.
 */
import { ApiClient, type ApiResponse, type RetryPolicy } from './api-client';

/**
 * Most reports per request: the API's REPORT_BATCH_MAX (src/contract/schemas.ts; the wrapper and
 * executor import Node built-ins only, test/worker-node.test.ts checks the two agree).
 */
export const REPORT_BATCH_MAX = 500;
/**
 * Most bytes of reports per request: half the API's body limit (1 MiB, DEFAULT_BODY_LIMIT in
 * src/api/app.ts), so output tails (10,000 characters each, up to 6 bytes a character once
 * escaped) never make a batch too large to take. A larger single report still goes, alone.
 */
export const REPORT_BATCH_BYTES = 512 * 1024;

export type ReportKind = 'running' | 'done' | 'error';
/** Sends one report of one task instance and resolves with the answer its single route gives. */
export type ReportSender = (kind: ReportKind, body: object) => Promise<ApiResponse>;

interface Pending {
  item: { task_instance_id: number; kind: ReportKind } & object;
  resolve: (res: ApiResponse) => void;
  reject: (err: unknown) => void;
}

/** The reports to one API with one token (the local executor's tasks of one batch). */
class Channel {
  readonly #queue: Pending[] = [];
  #inFlight = false;

  constructor(
    readonly api: ApiClient,
    readonly token: string | undefined,
    /** Shared by the channels of one API: it answered 404/405 to the batch route (it predates it). */
    readonly single: { yes: boolean },
    /** Called when nothing is queued or in flight any more. */
    readonly onIdle: () => void,
  ) {}

  send(item: Pending['item']): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#inFlight) return;
    if (this.#queue.length === 0) return this.onIdle();
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < REPORT_BATCH_MAX) {
      bytes += Buffer.byteLength(JSON.stringify(this.#queue[n].item)) + 1;
      if (n > 0 && bytes > REPORT_BATCH_BYTES) break;
      n++;
    }
    const batch = this.#queue.splice(0, n);
    this.#inFlight = true;
    void (this.single.yes ? this.#sendSingly(batch) : this.#sendBatch(batch)).finally(() => {
      this.#inFlight = false;
      this.#flush();
    });
  }

  async #sendBatch(batch: Pending[]): Promise<void> {
    let res: ApiResponse;
    try {
      res = await this.api.post(
        '/task-instances/reports',
        { reports: batch.map((p) => p.item) },
        { token: this.token },
      );
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    if (res.status === 404 || res.status === 405) {
      this.single.yes = true;
      return this.#sendSingly(batch);
    }
    // Too large after all (an API with a smaller limit): each report alone is what it always took.
    if (res.status === 413 && batch.length > 1) return this.#sendSingly(batch);
    const results = (res.body as { results?: ApiResponse[] } | undefined)?.results;
    if (res.status !== 200 || !Array.isArray(results) || results.length !== batch.length) {
      // The request as a whole was refused (a token the API does not take, a body it cannot read):
      // every report of it gets that answer, as each would have alone.
      batch.forEach((p) => p.resolve(res));
      return;
    }
    batch.forEach((p, k) => p.resolve(results[k]));
  }

  async #sendSingly(batch: Pending[]): Promise<void> {
    await Promise.all(
      batch.map(async (p) => {
        const { task_instance_id: id, kind, ...body } = p.item;
        try {
          p.resolve(await this.api.post(`/task-instances/${id}/${kind}`, body, { token: this.token }));
        } catch (err) {
          p.reject(err);
        }
      }),
    );
  }
}

export class ReportBatcher {
  /** One client (one kept-alive connection) per API; one channel per API and token while in use. */
  readonly #apis = new Map<string, { api: ApiClient; single: { yes: boolean } }>();
  readonly #channels = new Map<string, Channel>();

  constructor(
    private readonly log: (message: string) => void,
    private readonly policy: RetryPolicy,
  ) {}

  /** The report sender of one task instance, whose reports go to `apiUrl` with `token`. */
  senderFor(apiUrl: string, token: string | undefined, taskInstanceId: number): ReportSender {
    return (kind, body) => this.#channel(apiUrl, token).send({ ...body, task_instance_id: taskInstanceId, kind });
  }

  #channel(apiUrl: string, token: string | undefined): Channel {
    const key = `${apiUrl}\u0000${token ?? ''}`;
    const found = this.#channels.get(key);
    if (found) return found;
    let api = this.#apis.get(apiUrl);
    if (!api)
      this.#apis.set(
        apiUrl,
        (api = { api: new ApiClient(apiUrl, undefined, this.log, this.policy), single: { yes: false } }),
      );
    const channel = new Channel(api.api, token, api.single, () => this.#channels.delete(key));
    this.#channels.set(key, channel);
    return channel;
  }

  /** Close idle connections (the executor is exiting). */
  close(): void {
    for (const { api } of this.#apis.values()) api.close();
  }
}
