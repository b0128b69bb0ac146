/**
 * The one stack helper of the tests. `prepareStack` makes what every stack shares: a fresh database,
 * Temporal connections, a JMT_HOME, and the environment that puts the stack on its own task queue
 * and workflow-id prefix of the run's Temporal dev server (wrapper heartbeat 1 s so lost jobs are
 * found in seconds). `startTestStack` adds an in-process API on a free port and worker; the token
 * stack (test/slurm/token-stack.ts) and the scale-out test start the built processes on it instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config';
import { startApiServer, type ApiServer } from '../../src/api/main';
import { localAuth, type AuthConfig } from '../../src/api/auth';
import { startWorker, type RunningWorker } from '../../src/worker/create-worker';
import { createTestDatabase, type TestDatabase } from './db';
import { freePort } from './ports';
import { connectTemporal, temporalAddress, temporalNamespace, type TemporalConnections } from './temporal';

export interface TestStack {
  config: Config;
  database: TestDatabase;
  temporal: TemporalConnections;
  api: ApiServer;
  worker: RunningWorker | undefined;
  /** Environment for a worker or wrapper started as a separate process. */
  env: NodeJS.ProcessEnv;
  startWorker(): Promise<RunningWorker>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface StackBase {
  database: TestDatabase;
  temporal: TemporalConnections;
  /** JMT_HOME of the stack (removed by dispose). */
  home: string;
  /** Environment of the stack's processes (API, worker, wrappers, CLI). */
  env: NodeJS.ProcessEnv;
  config: Config;
  /** Close the Temporal connections, drop the database, remove home. */
  dispose(): Promise<void>;
}

/**
 * The shared part of every test stack. `env` is laid over the defaults; a key set to undefined is
 * removed (JMT_TOKENS is removed unless given: a stack is single-user unless it says otherwise).
 */
export async function prepareStack(options: { homePrefix?: string; env?: NodeJS.ProcessEnv } = {}): Promise<StackBase> {
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  const home = mkdtempSync(path.join(os.tmpdir(), options.homePrefix ?? 'jmt-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JMT_TOKENS: undefined,
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: temporalNamespace(),
    JMT_TASK_QUEUE: `jmt-test-${randomUUID()}`,
    // Test databases share the run's Temporal namespace; workflow ids restart at 1 in each.
    JMT_WORKFLOW_ID_PREFIX: `jmt-test-${randomUUID().slice(0, 8)}`,
    JMT_HOME: home,
    JMT_TI_HEARTBEAT_S: '1',
    JMT_REPORT_BY_BUFFER: '3.1',
    // Every API answer is checked against its published response schema (src/api/response-check.ts).
    JMT_CHECK_RESPONSES: '1',
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return {
    database,
    temporal,
    home,
    env,
    config: loadConfig({}, env),
    async dispose() {
      await temporal.close();
      await database.destroy();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export async function startTestStack(
  options: { inProcessWorker?: boolean; /** Default: local single-user mode. */ auth?: AuthConfig } = {},
): Promise<TestStack> {
  const apiPort = await freePort();
  const base = await prepareStack({
    env: { JMT_API_PORT: String(apiPort), JMT_API_URL: `http://127.0.0.1:${apiPort}` },
  });
  const { database, temporal, env, config } = base;
  const api = await startApiServer({
    db: database.db,
    config,
    temporal: temporal.client,
    auth: options.auth ?? localAuth(config.user),
    port: apiPort,
    host: '127.0.0.1',
  });
  const stack: TestStack = {
    config,
    database,
    temporal,
    api,
    worker: undefined,
    env,
    async startWorker() {
      stack.worker = await startWorker(config, database.db);
      return stack.worker;
    },
    async stopWorker() {
      await stack.worker?.shutdown();
      stack.worker = undefined;
    },
    async close() {
      await stack.stopWorker();
      await api.close();
      await base.dispose();
    },
  };
  if (options.inProcessWorker ?? true) await stack.startWorker();
  return stack;
}

/** POST/GET JSON against the test API; throws with the API's error body on a non-2xx answer. */
export async function api<T = unknown>(stack: TestStack, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.api.url}/api/v1${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
