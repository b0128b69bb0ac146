/**
 * The API process: `node dist/src/api/main.js` (or `jmt up`, which calls `startApiServer`).
 * Migrates the database, connects to Temporal only when a run or control needs it, serves until
 * SIGTERM/SIGINT, then closes the server, the Temporal connection and the pool in that order.
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { loadConfig } from '../config';
import { deleteExpiredDrafts } from '../sql/bind-store';
import { createDb, ensureDatabase, migrate, type Db } from '../sql/db';
import { createApp, toTemporalGetter, type AppDeps } from './app';
import { loadAuthConfig } from './auth';
import { createRunNotifier } from '../control/run-notifier';
import { lazyTemporalClient } from './temporal';

export interface ApiServer {
  /** `http://host:port`, with the port actually bound (port 0 picks a free one). */
  url: string;
  /** Stop accepting, drop idle keep-alive connections, wait for in-flight requests. */
  close(): Promise<void>;
}

/** Connections reserved for the callbacks: heartbeats are batched (sql/heartbeat-batch.ts), so few suffice. */
export const CALLBACK_POOL_SIZE = 3;

export async function startApiServer(deps: AppDeps & { port: number; host: string }): Promise<ApiServer> {
  const { port, host, ...appDeps } = deps;
  const notifier =
    appDeps.notifier ??
    createRunNotifier(toTemporalGetter(appDeps.temporal), { workflowIdPrefix: appDeps.config.workflowIdPrefix });
  // A pool of its own for the worker-node callbacks unless the caller brought one, so that a big
  // commit and many observers' reads holding every connection of `db` can never queue a heartbeat
  // behind them. Isolation, not the measured cause of late heartbeats: in
  // bench/heartbeat-during-bind.ts the main pool never ran dry (docs/benchmarks.md).
  const ownCallbackDb = appDeps.callbackDb ? undefined : createDb(appDeps.config.databaseUrl, CALLBACK_POOL_SIZE);
  const callbackDb = appDeps.callbackDb ?? ownCallbackDb;
  const app = createApp({ ...appDeps, callbackDb, notifier });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host, port }) as Server;
  server.on('clientError', answerClientError);

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const sweeper = startDraftSweeper(appDeps.db, appDeps.config.draftTtlS);
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        notifier.close();
        sweeper.stop();
        server.close((err) =>
          err ? reject(err) : (ownCallbackDb?.destroy() ?? Promise.resolve()).then(resolve, reject),
        );
        // Idle keep-alive sockets would otherwise hold close() open until they time out.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/** How often the API deletes expired bind drafts: often enough that none outlives its TTL by much. */
export const DRAFT_SWEEP_INTERVAL_MS = 60_000;

/**
 * Abandoned drafts (a client that died mid-upload) would grow without bound: every API process
 * deletes those older than the TTL once a minute, a bounded batch at a time (replicas doing it at
 * once only find less to delete). Unref'd, so it never keeps a process alive; stopped by close().
 */
function startDraftSweeper(db: Db, ttlS: number): { stop(): void } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = deleteExpiredDrafts(db, ttlS)
      .then(() => undefined)
      .catch((err: unknown) => {
        process.stderr.write(`draft sweep failed: ${err instanceof Error ? err.message : String(err)}\n`);
      })
      .finally(() => (running = undefined));
  }, DRAFT_SWEEP_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Requests Node's HTTP parser refuses before the app sees them (request line and headers over
 * 16 KiB: a long query string; malformed HTTP). Node's own answer has an empty body; this one
 * carries the API's error shape so clients can say what to shorten.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify({
    error: tooLarge
      ? {
          code: 'headers_too_large',
          message: 'the request line and headers exceed 16 KiB: shorten the query string',
          field: 'query',
        }
      : { code: 'bad_request', message: `malformed HTTP request (${err.code ?? err.message})`, field: 'request' },
  });
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Fail at start, not on the first request, when JMT_TOKENS is malformed.
  const auth = loadAuthConfig(config.user);
  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl);
  await migrate(db);
  const temporal = lazyTemporalClient(config);
  const server = await startApiServer({
    db,
    temporal: temporal.get,
    config,
    auth,
    host: config.apiHost,
    port: config.apiPort,
  });
  const mode =
    auth.mode === 'local-single-user'
      ? `local single-user mode as ${config.user}`
      : `${auth.tokens.size} tokens${auth.oidc ? `, OIDC tokens of ${auth.oidc.settings.issuer}` : ''}`;
  process.stderr.write(
    `jobmon API listening on ${server.url} (${mode}; Temporal ${config.temporalAddress}, connected on first use)\n`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: shutting down\n`);
    // Whatever fails while closing, still try the rest and exit.
    void (async () => {
      const results = await Promise.allSettled([server.close()]);
      results.push(...(await Promise.allSettled([temporal.close(), db.destroy()])));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      for (const f of failed) process.stderr.write(`shutdown: ${String(f.reason)}\n`);
      process.exit(failed.length ? 1 : 0);
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    // One line an operator can act on (a bad JMT_TOKENS entry, Postgres unreachable), no stack.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`jobmon API failed to start: ${message.split('\n')[0]}\n`);
    process.exit(1);
  });
}
