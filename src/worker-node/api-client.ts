/**
 * The wrapper's HTTP client: JSON POSTs to the API with bounded retries, so that a short API outage
 * (a restart, a deploy) does not cost a job its report. Node's global fetch only.
 */

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

export class ApiClient {
  readonly #base: string;

  constructor(
    apiUrl: string,
    private readonly token: string | undefined,
    private readonly log: (message: string) => void,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {
    this.#base = apiBase(apiUrl);
  }

  /**
   * POST JSON. Network errors, timeouts, 429 and 5xx are retried within the policy; any other
   * status (2xx, 4xx) is returned for the caller to judge. `retry: false` makes one attempt (heartbeats:
   * the next heartbeat is the retry). `signal` aborts, e.g. a heartbeat overtaken by the final report.
   */
  async post(path: string, body: unknown, opts: { retry?: boolean; signal?: AbortSignal } = {}): Promise<ApiResponse> {
    const policy = opts.retry === false ? { ...this.policy, maxAttempts: 1 } : this.policy;
    const started = Date.now();
    let lastProblem = '';
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${this.#base}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          },
          body: JSON.stringify(body),
          signal: opts.signal
            ? AbortSignal.any([opts.signal, AbortSignal.timeout(policy.requestTimeoutMs)])
            : AbortSignal.timeout(policy.requestTimeoutMs),
        });
        const text = await res.text();
        if (res.status !== 429 && res.status < 500) return { status: res.status, body: parseJson(text) };
        lastProblem = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        lastProblem = describeFetchError(err);
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

/** fetch's TypeError says only "fetch failed"; the cause (ECONNREFUSED, timeout) is what helps. */
function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : undefined;
  return causeText ? `${err.message}: ${causeText}` : err.name === 'TimeoutError' ? 'request timed out' : err.message;
}
