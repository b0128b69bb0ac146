/**
 * A stand-in for the API's worker-node callbacks (docs/api-contract.md, "Worker-node wrapper
 * callbacks") that records every call with its arrival time, for unit tests of the wrapper and the
 * local distributors. Loopback only. Tests script it per task instance. The batch route
 * (/task-instances/reports, the local executor's) records each of its reports as a call of its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type CallKind = 'running' | 'heartbeat' | 'done' | 'error';

export interface RecordedCall {
  kind: CallKind;
  taskInstanceId: number;
  body: Record<string, unknown>;
  authorization: string | undefined;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface InstanceScript {
  command: string;
  stdoutPath: string;
  stderrPath: string;
  heartbeatIntervalS?: number;
  /** Answer the running report with 409 not_runnable. */
  notRunnable?: boolean;
  /** Status answered to heartbeats (K = kill). */
  heartbeatStatus?: string;
}

export class FakeWrapperApi {
  readonly calls: RecordedCall[] = [];
  readonly scripts = new Map<number, InstanceScript>();
  /** Per kind: answer this many next calls with 503 before answering normally. */
  readonly failNext = new Map<CallKind, number>();
  /** Sizes of the batch requests received, in order. */
  readonly batches: number[] = [];
  /** Answer the batch route 404, as an API older than it does. */
  noBatchRoute = false;
  /** While set, batch requests are recorded but answered only at `releaseBatches()`. */
  holdBatches = false;
  #held: (() => void)[] = [];
  #server: http.Server | undefined;
  #port = 0;

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Answer the held batch requests, and hold no more. */
  releaseBatches(): void {
    this.holdBatches = false;
    for (const answer of this.#held.splice(0)) answer();
  }

  callsOf(taskInstanceId: number, kind?: CallKind): RecordedCall[] {
    return this.calls.filter((c) => c.taskInstanceId === taskInstanceId && (!kind || c.kind === kind));
  }

  /** The final report (done or error) of an instance, if any. */
  endOf(taskInstanceId: number): RecordedCall | undefined {
    return this.calls.find((c) => c.taskInstanceId === taskInstanceId && (c.kind === 'done' || c.kind === 'error'));
  }

  async listen(port = 0): Promise<void> {
    const server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const auth = req.headers.authorization;
    const parse = () =>
      chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    if (req.method === 'POST' && req.url === '/api/v1/task-instances/reports' && !this.noBatchRoute) {
      const items = (parse() as { reports: Record<string, unknown>[] }).reports;
      const kinds = new Set(items.map((i) => i.kind as CallKind));
      const failing = [...kinds].find((k) => (this.failNext.get(k) ?? 0) > 0);
      if (failing) {
        this.failNext.set(failing, this.failNext.get(failing)! - 1);
        return send(503, { error: { code: 'unavailable', message: 'scripted outage' } });
      }
      this.batches.push(items.length);
      const results = items.map(({ task_instance_id: id, kind, ...body }) =>
        this.#answer(kind as CallKind, Number(id), body, auth),
      );
      if (this.holdBatches) return void this.#held.push(() => send(200, { results }));
      return send(200, { results });
    }
    const m = /^\/api\/v1\/task-instances\/(\d+)\/(running|heartbeat|done|error)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return send(404, { error: { code: 'not_found', message: req.url } });
    const kind = m[2] as CallKind;
    const failures = this.failNext.get(kind) ?? 0;
    if (failures > 0) {
      this.failNext.set(kind, failures - 1);
      return send(503, { error: { code: 'unavailable', message: 'scripted outage' } });
    }
    const answer = this.#answer(kind, Number(m[1]), parse(), auth);
    send(answer.status, answer.body);
  }

  /** Records one report and says what its route answers. */
  #answer(
    kind: CallKind,
    id: number,
    body: Record<string, unknown>,
    authorization: string | undefined,
  ): { status: number; body: unknown } {
    this.calls.push({ kind, taskInstanceId: id, body, authorization, at: Date.now() });
    const script = this.scripts.get(id);
    if (!script) return { status: 404, body: { error: { code: 'not_found', message: `task instance ${id}` } } };
    switch (kind) {
      case 'running':
        if (script.notRunnable)
          return { status: 409, body: { error: { code: 'not_runnable', message: `task instance ${id} is K` } } };
        return {
          status: 200,
          body: {
            task_instance_id: id,
            task_id: 1000 + id,
            workflow_id: 7,
            workflow_run_id: 70,
            name: `task-${id}`,
            command: script.command,
            stdout_path: script.stdoutPath,
            stderr_path: script.stderrPath,
            heartbeat_interval_s: script.heartbeatIntervalS ?? 0.2,
            report_by_s: 10,
          },
        };
      case 'heartbeat':
        return { status: 200, body: { status: script.heartbeatStatus ?? 'R' } };
      case 'done':
        return { status: 200, body: { status: 'D' } };
      case 'error':
        return { status: 200, body: { status: String(body.error_state ?? 'E') } };
    }
  }
}
