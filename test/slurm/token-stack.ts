/**
 * A stack as a multi-user site runs it: the API with `JMT_TOKENS` (several users, each with a
 * token) and the worker, both as separate processes of the built code (`dist/`) whose output goes
 * to log files the tests can read afterwards, on a fresh database and a unique task queue of the
 * run's Temporal dev server. The worker also holds an API token of its own (`JMT_TOKEN`), the one
 * thing a careless distributor would hand to jobs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot, type Config } from '../../src/config';
import { Tool } from '../../src/client';
import type { TestDatabase } from '../helpers/db';
import { freePort } from '../helpers/ports';
import { prepareStack } from '../helpers/stack';
import type { TemporalConnections } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

export interface StackUser {
  user: string;
  role: 'operator' | 'observer' | 'admin';
}

export interface TokenStack {
  config: Config;
  env: NodeJS.ProcessEnv;
  database: TestDatabase;
  temporal: TemporalConnections;
  apiUrl: string;
  /** API token per API user name. */
  tokens: Record<string, string>;
  /** The worker's own API token (JMT_TOKEN in its environment). */
  workerToken: string;
  apiLog: string;
  workerLog: string;
  /** A control-script Tool acting as `user` (with that user's token). */
  toolAs(user: string, name: string): Tool;
  /** GET an API route as `user`; the status and the raw body. */
  get(user: string, route: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

const secret = (user: string) => `tok-${user}-${randomBytes(18).toString('base64url')}`;

export async function startTokenStack(users: StackUser[]): Promise<TokenStack> {
  const apiPort = await freePort();
  const tokens: Record<string, string> = {};
  for (const u of users) tokens[u.user] = secret(u.user);
  const workerToken = secret('worker');
  const spec = [
    ...users.map((u) => `${tokens[u.user]}:${u.user}:${u.role}`),
    `${workerToken}:jmt-worker:observer`,
  ].join(',');
  const base = await prepareStack({
    homePrefix: 'jmt-tokens-',
    env: {
      JMT_API_PORT: String(apiPort),
      JMT_API_HOST: '127.0.0.1',
      JMT_API_URL: `http://127.0.0.1:${apiPort}`,
      JMT_TOKENS: spec,
    },
  });
  const { database, temporal, env, config } = base;
  // Jobs run as the workflows' owners: they must reach the task log directories under home.
  chmodSync(base.home, 0o755);
  const logs = mkdtempSync(path.join(os.tmpdir(), 'jmt-tokens-logs-'));
  const apiLog = path.join(logs, 'api.log');
  const workerLog = path.join(logs, 'worker.log');
  const children: ChildProcess[] = [];
  const start = (script: string, log: string, extra: NodeJS.ProcessEnv) => {
    const fd = openSync(log, 'a');
    const childEnv: NodeJS.ProcessEnv = { ...env, ...extra };
    for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
    const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', ...script.split('/'))], {
      env: childEnv,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    children.push(child);
    return child;
  };
  const close = async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    for (const child of children) {
      const exited = await waitFor(async () => child.exitCode !== null || child.signalCode !== null, {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: `process ${child.pid} to exit`,
      }).catch(() => false);
      if (!exited) child.kill('SIGKILL');
    }
    await base.dispose();
    rmSync(logs, { recursive: true, force: true });
  };
  try {
    // The API checks tokens; the worker has no business knowing the list.
    start('api/main.js', apiLog, {});
    start('worker/main.js', workerLog, { JMT_TOKENS: undefined, JMT_TOKEN: workerToken });
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${apiPort}/health`, { signal: AbortSignal.timeout(2_000) })).ok,
      { timeoutMs: 60_000, intervalMs: 200, what: 'the API to answer /health' },
    );
    await waitFor(async () => readFileSync(workerLog, 'utf8').includes('polling task queue'), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the worker to poll its task queue',
    });
  } catch (err) {
    const tail = (f: string) => {
      try {
        return readFileSync(f, 'utf8').slice(-2000);
      } catch {
        return '';
      }
    };
    await close();
    throw new Error(`${(err as Error).message}\napi: ${tail(apiLog)}\nworker: ${tail(workerLog)}`);
  }
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  return {
    config,
    env,
    database,
    temporal,
    apiUrl,
    tokens,
    workerToken,
    apiLog,
    workerLog,
    toolAs(user, name) {
      return new Tool(name, { config: { ...config, token: tokens[user] }, stderr: { write: () => true } });
    },
    async get(user, route) {
      const res = await fetch(`${apiUrl}${route}`, { headers: { authorization: `Bearer ${tokens[user]}` } });
      return { status: res.status, body: await res.text() };
    },
    close,
  };
}
