/**
 * The one HTTP door to the API for the client library and the CLI (docs/api-contract.md). Both talk
 * to the API over HTTP only, so a laptop and a remote deployment behave the same.
 *
 * Errors come back as `JobmonClientError` carrying the API's `{ code, message, field }` and the HTTP
 * status; a refused or dropped connection is a `JobmonClientError` with code `unreachable`, whose
 * message tells the user how to start the API.
 */
import http from 'node:http';
import https from 'node:https';
import type { Config } from '../config';

/** Path prefix of every route (contract v1). */
export const API_PREFIX = '/api/v1';

export class JobmonClientError extends Error {
  constructor(
    message: string,
    /** The API's machine-readable code (`not_found`, `run_active`...), or `unreachable`/`timeout`/`bad_response`. */
    readonly code: string,
    /** HTTP status; undefined when no response arrived. */
    readonly status?: number,
    /** Dotted path of the offending input, when the API named one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'JobmonClientError';
  }

  /** True when no HTTP answer arrived (connection refused/reset, DNS, timeout). */
  get isUnreachable(): boolean {
    return this.code === 'unreachable' || this.code === 'timeout';
  }
}

export type QueryValue = string | number | boolean | undefined | null | readonly (string | number)[];
export type Query = Record<string, QueryValue>;

export interface ApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8070` (with or without the `/api/v1` suffix). */
  apiUrl: string;
  token?: string;
  /**
   * Extra attempts for idempotent GETs after a connection error or a 5xx. POSTs are never retried:
   * a bind chunk or a run start sent twice would not be harmless.
   */
  getRetries?: number;
  /** First pause between GET retries; doubles each time. */
  retryDelayMs?: number;
  /** Per-request bound; a commit of a very large DAG legitimately takes a while, hence minutes. */
  timeoutMs?: number;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Overrides `getRetries` for this call (e.g. 0 for a quick health probe). */
  retries?: number;
  timeoutMs?: number;
}

const DEFAULT_GET_RETRIES = 2;
const DEFAULT_RETRY_DELAY_MS = 250;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #getRetries: number;
  readonly #retryDelayMs: number;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    const trimmed = options.apiUrl.replace(/\/+$/, '');
    // Accept both forms so a user who pasted the full prefix into JMT_API_URL is not punished.
    this.baseUrl = trimmed.endsWith(API_PREFIX) ? trimmed.slice(0, -API_PREFIX.length) : trimmed;
    this.#token = options.token;
    this.#getRetries = options.getRetries ?? DEFAULT_GET_RETRIES;
    this.#retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  static fromConfig(config: Pick<Config, 'apiUrl' | 'token'>, options: Partial<ApiClientOptions> = {}): ApiClient {
    return new ApiClient({ apiUrl: config.apiUrl, token: config.token, ...options });
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  put<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  url(path: string, query?: Query): string {
    const url = new URL(`${this.baseUrl}${API_PREFIX}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      url.searchParams.set(key, Array.isArray(value) ? value.join(',') : String(value));
    }
    return url.toString();
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
    const retries = method === 'GET' ? (options.retries ?? this.#getRetries) : 0;
    let delay = this.#retryDelayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once<T>(method, path, options);
      } catch (err) {
        const retryable = err instanceof JobmonClientError && (err.isUnreachable || (err.status ?? 0) >= 500);
        if (!retryable || attempt >= retries) throw err;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }

  async #once<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let response: Pick<Response, 'ok' | 'status' | 'statusText' | 'text'>;
    try {
      // fetch (undici) gives up on any answer slower than 300 s whatever the signal says; a commit
      // of a million tasks on a busy machine can take longer, so long waits go through node:http.
      response =
        timeoutMs > FETCH_HEADERS_TIMEOUT_MS
          ? await slowRequest(url, method, headers, body, timeoutMs)
          : await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw this.#transportError(err, timeoutMs);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw this.#transportError(err, timeoutMs);
    }
    const parsed = parseJson(text);
    if (!response.ok) throw errorFromResponse(response.status, response.statusText, parsed, text);
    if (parsed === undefined && text.length > 0) {
      throw new JobmonClientError(
        `the API at ${this.baseUrl} answered ${method} ${path} with something that is not JSON`,
        'bad_response',
        response.status,
      );
    }
    return parsed as T;
  }

  #transportError(err: unknown, timeoutMs: number): JobmonClientError {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new JobmonClientError(
        `the API at ${this.baseUrl} did not answer within ${Math.round(timeoutMs / 1000)} s`,
        'timeout',
      );
    }
    // Node's fetch throws TypeError('fetch failed') with the socket error (ECONNREFUSED...) as cause.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const detail = describeCause(cause);
    return new JobmonClientError(
      `cannot reach the API at ${this.baseUrl}: ${detail} — start it with \`jmt up\``,
      'unreachable',
    );
  }
}

/** undici's default headersTimeout, which Node's fetch offers no way to raise. */
const FETCH_HEADERS_TIMEOUT_MS = 300_000;

/** One request through node:http(s), bounded only by `timeoutMs`; answers like fetch's Response. */
function slowRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<Pick<Response, 'ok' | 'status' | 'statusText' | 'text'>> {
  const signal = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).request(url, { method, headers, signal }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(parts).toString('utf8');
        resolve({
          ok: status >= 200 && status < 300,
          status,
          statusText: res.statusMessage ?? '',
          text: async () => text,
        });
      });
    });
    // Same shape as fetch's failures, so #transportError reads both alike.
    req.on('error', (err) => reject(signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
    req.end(body);
  });
}

function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) return describeCause(cause.errors[0]);
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ENOTFOUND') return 'host not found';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
    return code ? `${code} ${cause.message}`.trim() : cause.message;
  }
  return String(cause);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorFromResponse(status: number, statusText: string, parsed: unknown, text: string): JobmonClientError {
  const error = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message, field } = error as { code?: unknown; message?: unknown; field?: unknown };
    return new JobmonClientError(
      typeof message === 'string' && message ? message : `HTTP ${status} ${statusText}`.trim(),
      typeof code === 'string' ? code : `http_${status}`,
      status,
      typeof field === 'string' ? field : undefined,
    );
  }
  // Not the contract's error shape (a proxy, a crash page): keep the first line so the user sees something.
  const firstLine = text.split('\n', 1)[0].slice(0, 200);
  return new JobmonClientError(
    `HTTP ${status} ${statusText}${firstLine ? `: ${firstLine}` : ''}`.trim(),
    `http_${status}`,
    status,
  );
}

/** True for URLs whose host is this machine (where the client may start the local stack itself). */
export function isLoopbackUrl(apiUrl: string): boolean {
  let host: string;
  try {
    host = new URL(apiUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
