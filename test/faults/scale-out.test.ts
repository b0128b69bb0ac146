/**
 * Scale-out: two Temporal worker processes and two API processes (the built dist/ entry points, as
 * deployed) on one Temporal server and one Postgres database. Wrappers, the client and the CLI
 * reach the APIs through a round-robin TCP proxy (what nginx does in docker-compose.yml). Mid-run,
 * one worker and one API are killed with SIGKILL; the survivors finish the run: every task DONE
 * exactly once, no task with two instances running at once.
 *
 * Needs `npm run build` (the processes and the worker-node wrapper run from dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Tool } from '../../src/client';
import { loadConfig, projectRoot, type Config } from '../../src/config';
import { temporalWorkflowId } from '../../src/temporal/ids';
import { ensureDatabase } from '../../src/sql/db';
import { type TestDatabase } from '../helpers/db';
import { databaseUrl, dropDatabasesWithPrefix } from '../helpers/db-names';
import { freePort } from '../helpers/ports';
import { type TemporalConnections } from '../helpers/temporal';
import { prepareStack, type StackBase } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { instances, lastRun, taskStatusCounts, tasksRunTwiceAtOnce } from '../e2e/helpers';

/** Tasks in the run: a few hundred, spread over templates so batches land on both workers. */
const TEMPLATES = 4;
const TASKS_PER_TEMPLATE = 75;
const TASKS = TEMPLATES * TASKS_PER_TEMPLATE;

interface RoundRobinProxy {
  url: string;
  /** Connections each backend accepted, by index. */
  accepted: number[];
  close(): Promise<void>;
}

/**
 * A TCP round robin over `backends`, skipping a backend that refuses the connection (nginx's
 * proxy_next_upstream error). Connection-level, so a keep-alive client stays on one backend until
 * its connection ends; each wrapper is its own process, hence its own connection.
 */
async function startRoundRobinProxy(backends: number[]): Promise<RoundRobinProxy> {
  const accepted = backends.map(() => 0);
  const sockets = new Set<net.Socket>();
  let next = 0;
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    track(client);
    client.pause();
    const connect = (tried: number): void => {
      if (tried >= backends.length) {
        client.destroy();
        return;
      }
      const index = next++ % backends.length;
      const upstream = net.connect({ host: '127.0.0.1', port: backends[index] });
      track(upstream);
      const onConnectError = () => connect(tried + 1);
      upstream.once('error', onConnectError);
      upstream.once('connect', () => {
        upstream.off('error', onConnectError);
        accepted[index] += 1;
        // A backend dying mid-request ends the client's connection too; the client retries.
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    connect(0);
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const children: ChildProcess[] = [];
let database: TestDatabase;
let temporal: TemporalConnections;
let proxy: RoundRobinProxy | undefined;
let stack: StackBase | undefined;
let env: NodeJS.ProcessEnv;
let config: Config;
let apiPorts: number[];

/** Workers that said they poll the task queue (their start bundles the workflow code: slow under load). */
const polling = new Set<ChildProcess>();

function startProcess(entry: 'api' | 'worker', extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', entry, 'main.js')], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Kept for the failure message; a process that dies early says why here.
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-2000);
    if (tail.includes('jmt worker polling task queue')) polling.add(child);
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`scale-out: ${entry} exited ${code}: ${tail}\n`);
  });
  children.push(child);
  return child;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  const entries = ['api', 'worker', 'worker-node'].map((e) => path.join(projectRoot(), 'dist', 'src', e, 'main.js'));
  const missing = entries.filter((e) => !existsSync(e));
  if (missing.length) throw new Error(`run \`npm run build\` first: ${missing.join(', ')} missing`);

  apiPorts = [await freePort(), await freePort()];
  proxy = await startRoundRobinProxy(apiPorts);
  stack = await prepareStack({
    homePrefix: 'jmt-scale-out-',
    env: {
      // Everyone (client, workers' wrappers) goes through the proxy, as in production.
      JMT_API_URL: proxy.url,
      JMT_MULTIPROCESS_PARALLELISM: '3',
      // A wrapper (and a connection) per task, so both APIs behind the round-robin proxy serve the run.
      JMT_LOCAL_EXECUTOR: '0',
    },
  });
  // One JMT_HOME for both workers = one machine: the spawn records a surviving worker reads to
  // adopt the other's running wrappers live under it.
  ({ database, temporal, env, config } = stack);
});

afterAll(async () => {
  await Promise.allSettled(children.map((c) => stopProcess(c, 'SIGTERM')));
  await proxy?.close();
  await stack?.dispose();
});

describe('process start', () => {
  it('several processes creating the same missing database at once all start', async () => {
    // Every API and worker calls ensureDatabase at start; the losers of the CREATE DATABASE race
    // must carry on (Postgres answers them 42P04 or 23505, depending on timing).
    const url = databaseUrl(inject('databaseServerUrl'), `${inject('testDatabasePrefix')}race_${process.pid}`);
    try {
      for (let round = 0; round < 3; round++) {
        await dropDatabasesWithPrefix(inject('databaseServerUrl'), new URL(url).pathname.slice(1));
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => ensureDatabase(url)));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      }
    } finally {
      await dropDatabasesWithPrefix(inject('databaseServerUrl'), new URL(url).pathname.slice(1));
    }
  });
});

describe('scale-out', () => {
  let apis: ChildProcess[];
  let workers: ChildProcess[];

  beforeAll(async () => {
    apis = apiPorts.map((port) => startProcess('api', { JMT_API_PORT: String(port) }));
    workers = [startProcess('worker'), startProcess('worker')];
    for (const port of apiPorts) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/api/v1/health`)).ok, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: `the API on port ${port}`,
      });
    }
    // Both workers polling before anything races: otherwise the first test also times worker start.
    await waitFor(async () => workers.every((w) => polling.has(w)), {
      timeoutMs: 180_000,
      intervalMs: 200,
      what: 'both workers to poll the task queue',
    });
  }, 240_000);

  it('binds and starts the same workflow from both APIs at once: one workflow, one run, no 5xx', async () => {
    // Each caller talks to one API directly, alternating, so the two processes race for real.
    const direct = (i: number) => loadConfig({ apiUrl: `http://127.0.0.1:${apiPorts[i % 2]}` }, env);
    const bindOne = async (i: number) => {
      const tool = new Tool('scale-out-race', { config: direct(i), stderr: { write: () => true } });
      const tt = tool.getTaskTemplate({ templateName: 'noop', commandTemplate: 'true {i}', nodeArgs: ['i'] });
      const wf = tool.createWorkflow({
        workflowArgs: 'race',
        defaultClusterName: 'dummy',
        defaultComputeResources: { queue: 'null.q' },
      });
      wf.addTasks(tt.createTasks({ i: Array.from({ length: 50 }, (_, k) => k) }));
      return wf.bind();
    };
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => bindOne(i)));
    expect(new Set(ids).size).toBe(1);
    const workflowId = ids[0];

    const starts = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const res = await fetch(`http://127.0.0.1:${apiPorts[i % 2]}/api/v1/workflows/${workflowId}/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ resume_mode: 'cold' }),
        });
        return { status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code };
      }),
    );
    expect(starts.filter((s) => s.status < 300)).toHaveLength(1);
    for (const s of starts.filter((x) => x.status >= 300)) {
      expect(s.status).toBe(409);
      expect(['run_active', 'workflow_done']).toContain(s.code);
    }
    await waitFor(async () => (await lastRun(database.db, workflowId))?.status === 'D', {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'the raced run to finish',
    });
    expect(await taskStatusCounts(database.db, workflowId)).toEqual({ D: 50 });
    const runs = await database.db
      .selectFrom('workflow_run')
      .select('id')
      .where('workflow_id', '=', workflowId)
      .execute();
    expect(runs).toHaveLength(1);
  }, 300_000);

  it('two workers and two APIs: one of each SIGKILLed mid-run, the others finish it; nothing lost or run twice', async () => {
    const tool = new Tool('scale-out', { config, stderr: { write: () => true } });
    const wf = tool.createWorkflow({
      workflowArgs: 'scale-out',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
      // A limit keeps batches small and frequent, so new monitors keep landing on both workers.
      maxConcurrentlyRunning: 12,
    });
    for (let t = 0; t < TEMPLATES; t++) {
      const tt = tool.getTaskTemplate({
        templateName: `short${t}`,
        commandTemplate: `sleep 0.1 # ${t} {i}`,
        nodeArgs: ['i'],
      });
      wf.addTasks(tt.createTasks({ i: Array.from({ length: TASKS_PER_TEMPLATE }, (_, i) => i), maxAttempts: 3 }));
    }
    const result = wf.run({ progress: false, secondsUntilTimeout: 840 });
    const workflowId = await waitFor(async () => wf.workflowId, { timeoutMs: 60_000, what: 'the bind' });

    // Temporal names the worker of each pending activity: note which workers ran batch monitors of
    // this one run, and kill a worker that holds some at that moment, so they have to move.
    const identities = new Set<string>();
    const handle = temporal.client.workflow.getHandle(temporalWorkflowId(config, workflowId));
    const workerIdentity = (w: ChildProcess) => `${w.pid}@${os.hostname()}`;
    const monitorsNow = async (): Promise<Set<string>> => {
      const d = await handle.describe();
      const now = new Set<string>();
      for (const a of d.raw.pendingActivities ?? []) if (a.lastWorkerIdentity) now.add(a.lastWorkerIdentity);
      for (const i of now) identities.add(i);
      return now;
    };
    await waitFor(
      async () => {
        await monitorsNow().catch(() => undefined);
        return ((await taskStatusCounts(database.db, workflowId)).D ?? 0) >= TASKS / 4;
      },
      { timeoutMs: 240_000, intervalMs: 250, what: 'a quarter of the tasks to finish' },
    );
    // Connection-level round robin and one connection per wrapper: both APIs serve this run.
    expect(proxy!.accepted.every((n) => n > 0)).toBe(true);
    const victim = await waitFor(
      async () => {
        const now = await monitorsNow();
        const i = workers.findIndex((w) => now.has(workerIdentity(w)));
        return i >= 0 ? i : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100, what: 'a worker holding batch monitors' },
    );
    const workersWithMonitors = workers.filter((w) => identities.has(workerIdentity(w))).length;

    const doneAtKill = (await taskStatusCounts(database.db, workflowId)).D ?? 0;
    await Promise.all([stopProcess(workers[victim], 'SIGKILL'), stopProcess(apis[0], 'SIGKILL')]);
    const killedAt = Date.now();
    const acceptedAfterKill = [...proxy!.accepted];

    expect(await result).toBe('D');
    const finishedAfterS = Math.round((Date.now() - killedAt) / 1000);
    expect(doneAtKill).toBeLessThan(TASKS);
    expect((await lastRun(database.db, workflowId))?.status).toBe('D');
    expect(await taskStatusCounts(database.db, workflowId)).toEqual({ D: TASKS });
    const records = await instances(database.db, workflowId);
    expect(tasksRunTwiceAtOnce(records)).toEqual([]);
    const doneByTask = new Map<number, number>();
    for (const r of records.filter((x) => x.status === 'D'))
      doneByTask.set(r.task_id, (doneByTask.get(r.task_id) ?? 0) + 1);
    expect(doneByTask.size).toBe(TASKS);
    expect([...doneByTask.values()].every((n) => n === 1)).toBe(true);
    const retried = records.filter((r) => r.status !== 'D').map((r) => r.status);
    // For the record (CI log): what the kill cost.
    console.info(
      `scale-out: ${TASKS} tasks; monitors seen on ${workersWithMonitors} of 2 workers before the kill; ` +
        `${doneAtKill} DONE at the kill, run finished ${finishedAfterS} s after it; ` +
        `${retried.length} instances lost and retried (${retried.join('') || 'none'})`,
    );
    // After the kill only the surviving API took connections.
    expect(proxy!.accepted[1]).toBeGreaterThan(acceptedAfterKill[1]);
    expect(proxy!.accepted[0]).toBe(acceptedAfterKill[0]);
  }, 900_000);
});
