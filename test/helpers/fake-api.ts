/**
 * A stand-in for the HTTP API in unit tests of the CLI and the client library: a real HTTP server
 * on a free loopback port that records every request and answers from per-route handlers. Routes
 * without a handler answer 404 in the contract's error shape, like the real API for an unknown id.
 * End-to-end tests use the real API instead.
 */
import http from 'node:http';
import { freePort } from './ports';

export interface FakeRequest {
  method: string;
  /** Path after `/api/v1`, without the query string. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface FakeResponse {
  status?: number;
  body?: unknown;
}

export type FakeHandler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export class FakeApi {
  readonly requests: FakeRequest[] = [];
  readonly #routes = new Map<string, FakeHandler>();
  #server: http.Server | undefined;
  url = '';

  /** Register (or replace) the handler of `METHOD /path` (path after `/api/v1`, exact match). */
  on(method: string, path: string, handler: FakeHandler | FakeResponse): this {
    this.#routes.set(`${method} ${path}`, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  /** Requests to `METHOD /path`, in arrival order. */
  calls(method: string, path: string): FakeRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  async start(): Promise<this> {
    const port = await freePort();
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.#answer(req, Buffer.concat(chunks).toString('utf8'), res);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.#server?.once('error', reject);
      this.#server?.listen(port, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #answer(req: http.IncomingMessage, text: string, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      body: text ? JSON.parse(text) : undefined,
      headers: req.headers,
    };
    this.requests.push(request);
    const handler = this.#routes.get(`${request.method} ${path}`);
    let response: FakeResponse;
    try {
      response = handler
        ? await handler(request)
        : { status: 404, body: { error: { code: 'not_found', message: `no route ${request.method} ${path}` } } };
    } catch (err) {
      response = { status: 500, body: { error: { code: 'internal', message: String(err) } } };
    }
    const status = response.status ?? 200;
    if (!Number.isInteger(status)) {
      // A test passed a body where a response was expected; answer (rather than hang the client) and say so.
      response = {
        status: 500,
        body: {
          error: {
            code: 'fake_api_misuse',
            message: `handler returned status ${JSON.stringify(status)}; wrap bodies as { body }`,
          },
        },
      };
    }
    res.writeHead(response.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(response.body ?? {}));
  }
}

export const apiError = (status: number, code: string, message: string, field?: string): FakeResponse => ({
  status,
  body: { error: { code, message, ...(field ? { field } : {}) } },
});

export interface FakeStatusInput {
  workflowId: number;
  name?: string;
  status?: string;
  buckets?: Partial<Record<'PENDING' | 'SCHEDULED' | 'RUNNING' | 'DONE' | 'FATAL', number>>;
  run?: { id: number; status: string } | null;
  templates?: {
    name: string;
    max_concurrently_running: number;
    buckets: Record<'PENDING' | 'SCHEDULED' | 'RUNNING' | 'DONE' | 'FATAL', number>;
  }[];
}

const RUN_LABELS: Record<string, string> = {
  R: 'RUNNING',
  D: 'DONE',
  E: 'ERROR',
  S: 'STOPPED',
  T: 'TERMINATED',
  A: 'ABORTED',
  B: 'BOUND',
};
const WF_LABELS: Record<string, string> = {
  R: 'RUNNING',
  D: 'DONE',
  F: 'FAILED',
  Q: 'QUEUED',
  G: 'REGISTERING',
  H: 'HALTED',
};

/** A GET /workflows/:id/status body in the contract's shape. */
export function fakeStatus(input: FakeStatusInput) {
  const buckets = { PENDING: 0, SCHEDULED: 0, RUNNING: 0, DONE: 0, FATAL: 0, ...input.buckets };
  const numTasks = Object.values(buckets).reduce((a, b) => a + b, 0);
  const status = input.status ?? 'R';
  const run = input.run === undefined ? { id: 1, status: 'R' } : input.run;
  return {
    workflow_id: input.workflowId,
    name: input.name ?? `wf-${input.workflowId}`,
    tool: 'tool',
    user: 'alice',
    workflow_args: 'args',
    status,
    status_label: WF_LABELS[status] ?? status,
    num_tasks: numTasks,
    counts: {
      G: buckets.PENDING,
      Q: 0,
      I: 0,
      O: buckets.SCHEDULED,
      R: buckets.RUNNING,
      D: buckets.DONE,
      E: 0,
      A: 0,
      F: buckets.FATAL,
    },
    buckets,
    percent_done: numTasks ? (buckets.DONE * 100) / numTasks : 0,
    max_concurrently_running: 2_147_483_647,
    templates: input.templates ?? [],
    run: run && {
      id: run.id,
      status: run.status,
      status_label: RUN_LABELS[run.status] ?? run.status,
      temporal_workflow_id: `jobmon-wf-${input.workflowId}`,
      temporal_run_id: 'abc',
      temporal_ui_url: `http://127.0.0.1:8233/namespaces/default/workflows/jobmon-wf-${input.workflowId}`,
      created_date: '2026-11-25T10:00:00Z',
    },
  };
}
