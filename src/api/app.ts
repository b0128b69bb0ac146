/**
 * The HTTP API (docs/api-contract.md): routes under /api/v1 split by caller like Jobmon's server,
 * plus /health, /openapi.json and /docs. Every error leaves as `{ error: { code, message, field } }`:
 * validation failures and the bind layer's JobmonErrors name the offending field, anything
 * unexpected is a 500 whose stack goes to stderr and never to the client.
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { sql } from 'kysely';
import type { Config } from '../config';
import { JobmonError } from '../domain/errors';
import type { Db } from '../sql/db';
import { authMiddleware, type AuthConfig } from './auth';
import { API_PREFIX, type AppEnv, type RouteDeps } from './deps';
import { guiRoutes } from '../gui/server';
import { bindRoutes } from './routes/bind';
import { clusterRoutes } from './routes/clusters';
import { observeRoutes } from './routes/observe';
import { operatorRoutes } from './routes/operator';
import { runRoutes } from './routes/runs';
import { taskInstanceRoutes } from './routes/task-instances';
import { taskRoutes } from './routes/tasks';
import { workflowRoutes } from './routes/workflows';
import { createRunNotifier, type RunNotifier } from '../control/run-notifier';
import { inputGuards, validationError } from './input-guards';
import { HealthSchema, json } from '../contract/schemas';
import { responseCheck } from './response-check';
import { temporalUnavailable } from './temporal';

/** Version of the HTTP contract (not of the package): bumps when docs/api-contract.md changes. */
export const API_VERSION = '1.0.0';
/** A 100,000-task bind goes in 5,000-task chunks of a few MiB each; 32 MiB leaves room for long commands. */
export const BIND_BODY_LIMIT = 32 * 1024 * 1024;
/** Everything else is small JSON; the largest are wrapper reports with stdout/stderr tails. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface AppDeps {
  db: Db;
  /** The worker-node callbacks' reserved pool (RouteDeps.callbackDb); `db` when not given. */
  callbackDb?: Db;
  /** A client, or a getter that connects lazily (src/api/temporal.ts) so the API starts without Temporal. */
  temporal: Client | (() => Promise<Client>);
  config: Config;
  auth: AuthConfig;
  /** Defaults to one created here; pass one to close its timers on shutdown. */
  notifier?: RunNotifier;
}

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const getTemporal = toTemporalGetter(deps.temporal);
  const routeDeps: RouteDeps = {
    db: deps.db,
    callbackDb: deps.callbackDb ?? deps.db,
    config: deps.config,
    temporal: getTemporal,
    notifier: deps.notifier ?? createRunNotifier(getTemporal, { workflowIdPrefix: deps.config.workflowIdPrefix }),
  };

  const app = new OpenAPIHono<AppEnv>({
    // Throwing (instead of returning a response) sends validation failures through the one onError.
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues);
    },
  });

  app.onError((err, c) => errorResponse(err, c));
  // First, so it sees every answer as the client will (after the error mapping of each route).
  if (deps.config.checkResponses) app.use('*', responseCheck(app));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  // Auth before the body limit: an unauthenticated client must not make us read 32 MiB.
  app.use(`${API_PREFIX}/*`, authMiddleware(deps.auth, API_PREFIX, deps.db));
  const tooLarge = (limit: number) => (c: Context) => {
    // The rest of the body stays unread: the connection cannot carry another request, and a
    // keep-alive client that is not told so reuses it and fails ("socket hang up") or hangs.
    c.header('Connection', 'close');
    throw new JobmonError('too_large', `request body exceeds ${limit / (1024 * 1024)} MiB`, 'body', 'too_large');
  };
  const bindLimit = bodyLimit({ maxSize: BIND_BODY_LIMIT, onError: tooLarge(BIND_BODY_LIMIT) });
  const defaultLimit = bodyLimit({ maxSize: DEFAULT_BODY_LIMIT, onError: tooLarge(DEFAULT_BODY_LIMIT) });
  const isBindPath = (path: string) => path === `${API_PREFIX}/bind` || path.startsWith(`${API_PREFIX}/bind/`);
  app.use('*', (c, next) => {
    // A GET or HEAD has no body to limit, and asking for it is not free: @hono/node-server then
    // builds a whole web Request (headers, AbortController) that a read otherwise never needs —
    // a fifth of the API's CPU per status answer under 50 clients (docs/benchmarks.md).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return (isBindPath(c.req.path) ? bindLimit : defaultLimit)(c, next);
  });
  // After the size limit (it bounds what this reads): UTF-8, nesting depth, unstorable text, __proto__.
  app.use(
    `${API_PREFIX}/*`,
    inputGuards({ repairTextInBody: (path) => path.startsWith(`${API_PREFIX}/task-instances/`) }),
  );

  app.route(API_PREFIX, bindRoutes(routeDeps));
  app.route(API_PREFIX, runRoutes(routeDeps));
  app.route(API_PREFIX, operatorRoutes(routeDeps));
  app.route(API_PREFIX, workflowRoutes(routeDeps));
  app.route(API_PREFIX, taskRoutes(routeDeps));
  app.route(API_PREFIX, taskInstanceRoutes(routeDeps));
  app.route(API_PREFIX, observeRoutes(routeDeps));
  app.route(API_PREFIX, clusterRoutes(routeDeps));
  app.route('/', guiRoutes());

  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['service'],
      summary: 'Database reachable; auth mode; database time',
      responses: { 200: json(HealthSchema, 'Healthy'), 503: json(HealthSchema, 'Database unreachable') },
    }),
    async (c) => {
      const auth = deps.auth.mode;
      try {
        const { rows } = await sql<{ now: Date }>`select now() as now`.execute(deps.db);
        return c.json({ status: 'ok' as const, database: 'ok' as const, auth, time: rows[0].now.toISOString() }, 200);
      } catch (err) {
        process.stderr.write(`health: database ping failed: ${err instanceof Error ? err.message : String(err)}\n`);
        return c.json({ status: 'unavailable' as const, database: 'error' as const, auth }, 503);
      }
    },
  );

  // Clients address everything under the prefix; the same check answers there too.
  app.get(`${API_PREFIX}/health`, (c) => app.fetch(new Request(new URL('/health', c.req.url)), c.env));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Jobmon on Temporal API',
      version: API_VERSION,
      description: 'Bind, run and watch Jobmon workflows. Errors: { error: { code, message, field? } }.',
    },
    security: [{ bearer: [] }],
  });
  app.get('/docs', (c) => c.html(DOCS_HTML));

  return app;
}

/** One shape for both kinds of `temporal` dep; connection failures become 503 temporal_unavailable. */
export function toTemporalGetter(temporal: AppDeps['temporal']): () => Promise<Client> {
  if (typeof temporal !== 'function') return async () => temporal;
  return async () => {
    try {
      return await temporal();
    } catch (err) {
      if (err instanceof JobmonError) throw err;
      throw temporalUnavailable(err instanceof Error ? err.message : String(err));
    }
  };
}

function errorResponse(err: Error, c: Context): Response {
  if (err instanceof JobmonError) return c.json(err.toJSON(), err.httpStatus as ContentfulStatusCode);
  // Hono's own exceptions: malformed JSON (400) from the validator, 415 from the media-type gate.
  if (err instanceof HTTPException) {
    const status = err.status;
    const code =
      status === 400
        ? 'malformed_json'
        : status === 415
          ? 'unsupported_media_type'
          : status === 413
            ? 'too_large'
            : 'http_error';
    const field = status === 400 || status === 413 ? 'body' : status === 415 ? 'content-type' : undefined;
    return c.json(
      { error: { code, message: err.message || 'bad request', ...(field ? { field } : {}) } },
      status as ContentfulStatusCode,
    );
  }
  process.stderr.write(`API ${c.req.method} ${c.req.path} failed: ${err.stack ?? String(err)}\n`);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
}

/** No UI package: a page that links the document and lists the routes it describes. */
const DOCS_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Jobmon on Temporal API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}code{font-size:.95em}td{padding:.2rem .8rem .2rem 0;vertical-align:top}</style>
</head>
<body>
<h1>Jobmon on Temporal API</h1>
<p>The OpenAPI 3.1 document: <a href="/openapi.json">/openapi.json</a>. The contract in prose: <code>docs/api-contract.md</code>.</p>
<table id="routes"></table>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const table = document.getElementById('routes');
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const row = table.insertRow();
      row.insertCell().innerHTML = '<code>' + method.toUpperCase() + '</code>';
      row.insertCell().innerHTML = '<code>' + path + '</code>';
      row.insertCell().textContent = op.summary || '';
    }
  }
});
</script>
</body>
</html>
`;
