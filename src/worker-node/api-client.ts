/**
 * The wrapper's HTTP client: JSON POSTs to the API with bounded retries, so that a short API outage
 * (a restart, a deploy) does not cost a job its report.
 *
 * node:http(s) with a keep-alive agent, not the global fetch: fetch loads undici on first use,
 * which was ~60 ms of the ~130 ms CPU a wrapper of `true` spent (node --cpu-prof), and the running
 * report, heartbeats and the final report share one connection.
 */
import http from 'node:http';

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** No new attempt starts after this long since the first (Jobmon: 10 attempts within 300 s). */
  totalTimeoutMs: number;
  /** One request's timeout (Jobmon's http.request_timeout: 20 s). */
  requestTimeoutMs: number;
  /** Backoff before retry n is min(maxDelayMs, baseDelayMs × 2^(n-1)), ±20 % jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  totalTimeoutMs: 300_000,
  requestTimeoutMs: 20_000,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

/** Operators may shorten or lengthen the outage a wrapper rides out (env of the job). */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv): RetryPolicy {
  const num = (name: string, fallback: number): number => {
    const v = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
  };
  return {
    ...DEFAULT_RETRY_POLICY,
    maxAttempts: Math.floor(num('JMT_WRAPPER_HTTP_ATTEMPTS', DEFAULT_RETRY_POLICY.maxAttempts)),
    totalTimeoutMs: num('JMT_WRAPPER_HTTP_RETRY_TIMEOUT_S', DEFAULT_RETRY_POLICY.totalTimeoutMs / 1000) * 1000,
  };
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The API could not be reached (or kept failing) for the whole retry budget. */
export class ApiUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiUnavailableError';
  }
}

/** Accepts the API's base URL with or without the `/api/v1` prefix. */
export function apiBase(apiUrl: string): string {
  const trimmed = apiUrl.replace(/\/+$/, '');
  return /\/api\/v\d+$/.test(trimmed) ? trimmed : `${trimmed}/api/v1`;
}

/**
 * Idle connections are closed after this long, before the API's own keep-alive timeout (Node's
 * default 5 s) can close one under a request that is just being sent.
 */
const IDLE_SOCKET_MS = 4_000;

export class ApiClient {
  readonly #base: URL;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(
    apiUrl: string,
    private readonly token: string | undefined,
    private readonly log: (message: string) => void,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {
    this.#base = new URL(apiBase(apiUrl));
    const tls = this.#base.protocol === 'https:';
    if (!tls && this.#base.protocol !== 'http:') throw new Error(`the API URL must be http(s), got ${apiUrl}`);
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_MS, maxSockets: 8 };
    // node:https (and with it tls and crypto) only when the API is https: loading them costs a
    // plain-http wrapper ~5 ms of CPU for nothing.
    const https = tls ? process.getBuiltinModule('node:https') : undefined;
    this.#agent = https ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#request = https ? https.request : http.request;
  }

  /** Close idle connections (a long-lived caller that is done with this API). */
  close(): void {
    this.#agent.destroy();
  }

  /**
   * POST JSON. Network errors, timeouts, 429 and 5xx are retried within the policy; any other
   * status (2xx, 4xx) is returned for the caller to judge. `retry: false` makes one attempt (heartbeats:
   * the next heartbeat is the retry). `signal` aborts, e.g. a heartbeat overtaken by the final report.
   * `token` replaces the client's own for this request (the local executor's one client per API
   * carries the reports of many batches, each with its job token).
   */
  async post(
    path: string,
    body: unknown,
    opts: { retry?: boolean; signal?: AbortSignal; token?: string } = {},
  ): Promise<ApiResponse> {
    const policy = opts.retry === false ? { ...this.policy, maxAttempts: 1 } : this.policy;
    const started = Date.now();
    const payload = Buffer.from(JSON.stringify(body));
    let lastProblem = '';
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.#once(path, payload, policy.requestTimeoutMs, opts.signal, opts.token ?? this.token);
        if (res.status !== 429 && res.status < 500) return { status: res.status, body: parseJson(res.text) };
        lastProblem = `HTTP ${res.status}: ${res.text.slice(0, 200)}`;
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        lastProblem = describeRequestError(err);
      }
      const delay = backoffMs(policy, attempt);
      if (attempt >= policy.maxAttempts || Date.now() - started + delay > policy.totalTimeoutMs) {
        throw new ApiUnavailableError(
          `POST ${path} failed after ${attempt} attempt(s) in ${Math.round((Date.now() - started) / 1000)} s: ${lastProblem}`,
        );
      }
      this.log(`POST ${path} attempt ${attempt} failed (${lastProblem}); retrying in ${Math.round(delay)} ms`);
      await sleep(delay, opts.signal);
    }
  }

  /** One POST: the status and body text, or a rejection (network error, timeout, abort). */
  #once(
    path: string,
    payload: Buffer,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    token: string | undefined,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const req = this.#request(
        {
          protocol: this.#base.protocol,
          hostname: this.#base.hostname.replace(/^\[(.*)\]$/, '$1'), // [::1] → ::1
          port: this.#base.port || undefined,
          path: `${this.#base.pathname}${path}`,
          method: 'POST',
          agent: this.#agent,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            settle();
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', fail);
        },
      );
      const timer = setTimeout(() => req.destroy(new RequestTimeoutError()), timeoutMs);
      const onAbort = () => req.destroy(signal!.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      function settle(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      function fail(err: Error): void {
        settle();
        reject(err);
      }
      req.on('error', fail);
      req.end(payload);
    });
  }
}

class RequestTimeoutError extends Error {
  constructor() {
    super('request timed out');
    this.name = 'TimeoutError';
  }
}

function backoffMs(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Jitter spreads the retries of thousands of wrappers that all lost the API at the same moment.
  return base * (0.8 + 0.4 * Math.random());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The code (ECONNREFUSED, ECONNRESET) is what helps an operator; the message repeats the address. */
function describeRequestError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}: ${err.message}` : err.message;
}
