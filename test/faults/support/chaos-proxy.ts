/**
 * An HTTP proxy between the wrappers and the API that misbehaves on purpose:
 *  - chaos: each wrapper callback (running / heartbeat / done / error) may be delayed (so callbacks
 *    overtake each other: reordered), and may be sent twice (the copy after a further delay, so it
 *    often lands after the wrapper's next callback: duplicated and out of order);
 *  - outage: for a while it refuses new connections and drops open ones (the API unreachable).
 * Decisions come from a seeded generator, so a run's pattern of faults is repeatable.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ChaosOptions {
  /** Probability that a callback is delayed, and the delay's upper bound. */
  delayProbability: number;
  maxDelayMs: number;
  /** Probability that a callback is also sent a second time, up to maxDelayMs later. */
  duplicateProbability: number;
  seed: number;
}

export interface ChaosCounts {
  forwarded: number;
  delayed: number;
  duplicated: number;
  /** Callbacks (or copies) that reached the API after a later callback of the same instance. */
  reordered: number;
  /** Open connections dropped when an outage began. */
  dropped: number;
}

const CALLBACK = /\/task-instances\/(\d+)\/(running|heartbeat|done|error)$/;

export class ChaosProxy {
  readonly counts: ChaosCounts = { forwarded: 0, delayed: 0, duplicated: 0, reordered: 0, dropped: 0 };
  #chaos: ChaosOptions | undefined;
  #down = false;
  #rand: () => number = Math.random;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Per task instance: callbacks that arrived, and the newest of them that reached the API. */
  readonly #arrived = new Map<string, number>();
  readonly #newestForwarded = new Map<string, number>();
  #port = 0;

  #target = '';

  private constructor() {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      if (this.#down) {
        this.counts.dropped++;
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Listens at once (its URL goes into the worker's environment); forwards once `target` is set. */
  static async start(port = 0): Promise<ChaosProxy> {
    const proxy = new ChaosProxy();
    await proxy.#listen(port);
    return proxy;
  }

  set target(url: string) {
    this.#target = url.replace(/\/+$/, '');
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Start (or with undefined, stop) misbehaving on callbacks. */
  chaos(options: ChaosOptions | undefined): void {
    this.#chaos = options;
    if (options) this.#rand = mulberry32(options.seed);
  }

  /**
   * The API unreachable for `ms`: the port refuses connections (not listening) and every open
   * connection is dropped; then it listens on the same port again.
   */
  async outage(ms: number): Promise<void> {
    this.#down = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.counts.dropped += this.#sockets.size;
    for (const s of this.#sockets) s.destroy();
    await closed;
    await new Promise((r) => setTimeout(r, ms));
    this.#down = false;
    await this.#listen(this.#port);
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#sockets) s.destroy();
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: '127.0.0.1', port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const callback = CALLBACK.exec(req.url ?? '');
    const chaos = this.#chaos;
    try {
      const instance = callback?.[1];
      const seq = instance ? (this.#arrived.get(instance) ?? 0) + 1 : 0;
      if (instance) this.#arrived.set(instance, seq);
      if (instance && chaos) {
        if (this.#rand() < chaos.delayProbability) {
          this.counts.delayed++;
          await this.#sleep(this.#rand() * chaos.maxDelayMs);
        }
        if (this.#rand() < chaos.duplicateProbability) {
          this.counts.duplicated++;
          // The copy's answer goes nowhere; the API must treat it as the no-op it is.
          const copyDelay = this.#rand() * chaos.maxDelayMs;
          void this.#sleep(copyDelay)
            .then(() => this.#forward(req, body, instance, seq))
            .catch(() => undefined);
        }
      }
      const answer = await this.#forward(req, body, instance, seq);
      this.counts.forwarded++;
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      res.end(answer.body);
    } catch {
      // The API itself is down (or the proxy is closing): a wrapper sees a dropped connection.
      res.destroy();
    }
  }

  async #forward(
    req: http.IncomingMessage,
    body: Buffer,
    instance: string | undefined,
    seq: number,
  ): Promise<{ status: number; contentType: string; body: Buffer }> {
    if (instance) {
      const newest = this.#newestForwarded.get(instance) ?? 0;
      if (seq < newest) this.counts.reordered++;
      else this.#newestForwarded.set(instance, seq);
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'authorization']) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const res = await fetch(`${this.#target}${req.url ?? '/'}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      signal: AbortSignal.timeout(30_000),
    });
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? 'application/json',
      body: Buffer.from(await res.arrayBuffer()),
    };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }
}

/** Small seeded PRNG (public domain mulberry32): repeatable chaos for one seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
