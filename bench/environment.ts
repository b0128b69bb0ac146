/**
 * The stack every benchmark of our side runs on (bench/run.ts, million.ts, api-load.ts, slurm.ts, peer): a fresh database, a Temporal dev server on a WAL SQLite file and one services process
 * (API + worker, as `jmt up` runs them) — or, with `split`, the API and the worker as two
 * processes, as docker-compose.yml deploys them on a site. Plus what they measure it with: the
 * layered DAG shape, the history of every Temporal execution of a run, and memory of each process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { Task, TaskRef, TaskTemplate, Tool } from '../src/client';
import { loadConfig, projectRoot, type Config } from '../src/config';
import { devServerArgs } from '../src/temporal/dev-server-args';
import { freePort, freshDatabase, stop, until } from './support';

export interface BenchStack {
  config: Config;
  /** The environment the services run with (for a client started as another process). */
  env: NodeJS.ProcessEnv;
  databaseUrl: string;
  databaseName: string;
  temporal: ChildProcess;
  /** The process serving the API: API + worker, or the API alone with `split`. */
  services: ChildProcess;
  /** With `split`: the worker's own process. */
  worker?: ChildProcess;
  client: Client;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Extra node flags for the services process (e.g. a larger heap for a million-task commit). */
  servicesNodeArgs?: string[];
  /** Mode of the stack's home: on Slurm, jobs run as the job user and write the tasks' logs under it. */
  homeMode?: number;
  /** Extra environment of the services process (e.g. JMT_LOCAL_EXECUTOR=0). */
  env?: NodeJS.ProcessEnv;
  /** The API and the worker as two processes (dist/src/api/main.js, dist/src/worker/main.js). */
  split?: boolean;
}

export async function startStack(name: string, options: StackOptions = {}): Promise<BenchStack> {
  const home = mkdtempSync(path.join(os.tmpdir(), `jmt-bench-${name}-`));
  if (options.homeMode !== undefined) chmodSync(home, options.homeMode);
  const base = loadConfig();
  const databaseName = `jmt_bench_${name.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
  const databaseUrl = await freshDatabase(databaseName);
  const temporalPort = await freePort();
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    JMT_API_PORT: String(apiPort),
    JMT_API_URL: `http://127.0.0.1:${apiPort}`,
    JMT_HOME: home,
    JMT_TASK_QUEUE: `bench-${name}`,
    ...options.env,
  };
  delete env.JMT_TOKENS;
  delete env.NODE_OPTIONS;
  const config = loadConfig({}, env);
  const temporal = spawn(
    base.temporalBin,
    [
      'server',
      'start-dev',
      ...devServerArgs({ port: temporalPort, uiPort: null, dbFile: path.join(home, 'temporal.sqlite') }),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let services: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  let connection: Connection | undefined;
  try {
    await until(
      'Temporal',
      async () => {
        const c = await Connection.connect({ address: config.temporalAddress, connectTimeout: '1s' });
        await c.close();
        return true;
      },
      60_000,
    );
    const node = (entry: string[]) =>
      spawn(process.execPath, [...(options.servicesNodeArgs ?? []), path.join(projectRoot(), 'dist', ...entry)], {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    services = node(options.split ? ['src', 'api', 'main.js'] : ['src', 'stack', 'services-main.js']);
    await until('API', async () => (await fetch(`${config.apiUrl}/api/v1/health`)).ok, 60_000);
    connection = await Connection.connect({ address: config.temporalAddress });
    if (options.split) {
      // After the API, which has migrated the database by the time it answers.
      worker = node(['src', 'worker', 'main.js']);
      await until('worker', () => pollingWorkflows(connection!, config.temporalNamespace, config.taskQueue), 60_000);
    }
  } catch (err) {
    await stop(worker);
    await stop(services);
    await stop(temporal);
    throw err;
  }
  const conn = connection;
  const svc = services;
  const wrk = worker;
  return {
    config,
    env,
    databaseUrl,
    databaseName,
    temporal,
    services: svc,
    worker: wrk,
    client: new Client({ connection: conn }),
    async close() {
      await conn.close();
      await stop(wrk);
      await stop(svc);
      await stop(temporal);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Whether a worker polls the task queue's workflow tasks (the worker process is up). */
async function pollingWorkflows(connection: Connection, namespace: string, taskQueue: string): Promise<boolean> {
  const { pollers } = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers?.length ?? 0) > 0;
}

/** The level sizes of the layered DAG: 1 → 100s → 10,000s → rest → 100s (fan-in) → 1. */
function layeredSizes(scale: number, total: number): number[] {
  const fixed = 1 + 100 * scale + 10_000 * scale + 100 * scale + 1;
  return [1, 100 * scale, 10_000 * scale, total - fixed, 100 * scale, 1];
}

/**
 * Indices [from, to) in the level above of the upstreams of task i of a level of `size` tasks:
 * one each while levels widen, an even share of the level above where they narrow.
 */
function upstreamRange(size: number, prev: number, i: number): [number, number] {
  if (size >= prev) return [i % prev, (i % prev) + 1];
  const share = Math.ceil(prev / size);
  return [i * share, Math.min(prev, (i + 1) * share)];
}

const levelTemplate = (tool: Tool, level: number): TaskTemplate =>
  tool.getTaskTemplate({ templateName: `level${level}`, commandTemplate: `true {i}`, nodeArgs: ['i'] });

/**
 * bench/run.ts's layered DAG with every level but the two single tasks multiplied by `scale`,
 * `total` tasks in all, as Task objects (each holding its upstream Tasks).
 */
export function layeredTasks(tool: Tool, scale: number, total: number): { tasks: Task[]; edges: number } {
  const levels: Task[][] = [];
  let edges = 0;
  layeredSizes(scale, total).forEach((size, level) => {
    const tt = levelTemplate(tool, level);
    const prev = levels[level - 1];
    const tasks: Task[] = new Array<Task>(size);
    for (let i = 0; i < size; i++) {
      const upstream = prev ? prev.slice(...upstreamRange(size, prev.length, i)) : [];
      edges += upstream.length;
      tasks[i] = tt.createTask({ i, upstreamTasks: upstream });
    }
    levels.push(tasks);
  });
  return { tasks: levels.flat(), edges };
}

/**
 * The same DAG as layeredTasks, as a stream for `Workflow.bindStream`: each task is made when it is
 * drawn and names its upstreams by `template.ref`, so nothing keeps it alive once it is sent and the
 * process holds a chunk of tasks, not a million. Draw `tasks()` once per bind.
 */
export function layeredTaskStream(
  tool: Tool,
  scale: number,
  total: number,
): { templates: TaskTemplate[]; count: number; edges: number; tasks: () => Generator<Task> } {
  const sizes = layeredSizes(scale, total);
  const templates = sizes.map((_, level) => levelTemplate(tool, level));
  let edges = 0;
  for (let level = 1; level < sizes.length; level++) {
    for (let i = 0; i < sizes[level]; i++) {
      const [from, to] = upstreamRange(sizes[level], sizes[level - 1], i);
      edges += to - from;
    }
  }
  function* tasks(): Generator<Task> {
    for (let level = 0; level < sizes.length; level++) {
      for (let i = 0; i < sizes[level]; i++) {
        const upstreamTasks: TaskRef[] = [];
        if (level > 0) {
          const [from, to] = upstreamRange(sizes[level], sizes[level - 1], i);
          for (let j = from; j < to; j++) upstreamTasks.push(templates[level - 1].ref({ i: j }));
        }
        yield templates[level].createTask({ i, upstreamTasks });
      }
    }
  }
  return { templates, count: total, edges, tasks };
}

export interface ExecutionHistory {
  runId: string;
  status: string;
  events: number;
  bytes: number;
}

/**
 * Every execution of one Temporal workflow id (the first run and each continue-as-new), with its
 * history length counted from the history itself, not from the visibility store.
 */
export async function executionHistories(client: Client, workflowId: string): Promise<ExecutionHistory[]> {
  const out: ExecutionHistory[] = [];
  for await (const e of client.workflow.list({ query: `WorkflowId="${workflowId}"` })) {
    const history = await client.workflow.getHandle(workflowId, e.runId).fetchHistory();
    out.push({
      runId: e.runId,
      status: e.status.name,
      events: history.events?.length ?? 0,
      bytes: e.historySize ?? 0,
    });
  }
  return out;
}

/** Resident memory of a process from /proc (kB fields), in MiB; NaN once it has gone. */
export function memoryMiB(pid: number | undefined, field: 'VmHWM' | 'VmRSS' | 'RssAnon'): number {
  if (!pid) return NaN;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Postgres backends serving one database: their private memory (RssAnon; shared buffers are
 * counted once for the whole server, not per backend). Needs the bench to run on the database's
 * machine; returns zeros otherwise.
 */
export async function postgresBackendsMiB(
  admin: pg.Client,
  database: string,
): Promise<{ backends: number; totalMiB: number; maxMiB: number }> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
    database,
  ]);
  let totalMiB = 0;
  let maxMiB = 0;
  let backends = 0;
  for (const r of rows) {
    const mib = memoryMiB(r.pid, 'RssAnon');
    if (Number.isNaN(mib)) continue;
    backends += 1;
    totalMiB += mib;
    maxMiB = Math.max(maxMiB, mib);
  }
  return { backends, totalMiB, maxMiB };
}

/** The fields after the command name of /proc/PID/stat (index 0 is the state), or undefined. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds the whole Postgres server has used so far: the postmaster, every live child
 * (backends, parallel workers, autovacuum, WAL writer, checkpointer) and, through the postmaster's
 * cutime/cstime, every child it has already reaped. Counting only the live backends of one
 * database (as an earlier version did) missed parallel index builds, backends the pool closed and
 * the WAL and checkpoint work a big COPY causes — at 1M tasks it read almost nothing. The price:
 * other databases' work on the same server is counted too (benchmarks run on a quiet server).
 * Needs the bench on the database's machine; 0 otherwise.
 */
export async function postgresServerCpuS(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>('select pg_backend_pid() as pid');
  const backend = statFields(rows[0].pid);
  const postmaster = backend ? Number(backend[1]) : NaN;
  const own = Number.isFinite(postmaster) ? statFields(postmaster) : undefined;
  if (!own) return 0;
  const ticks = (f: string[], from: number, n: number) => f.slice(from, from + n).reduce((a, v) => a + Number(v), 0);
  // utime, stime, cutime, cstime are fields 14–17 of stat: indexes 11–14 here.
  let total = ticks(own, 11, 4);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === postmaster) total += ticks(f, 11, 2);
  }
  return total / 100; // USER_HZ is 100 on Linux
}

/** A client on the server's `postgres` database, for reading pg_stat_activity and sizes. */
/**
 * CPU seconds so far of the backends connected to one database (the bench's pool keeps its
 * connections, so differences between two samples are that database's work; parallel workers and
 * backends that ended between the samples are not counted). On a Postgres shared with other work
 * this is the figure to compare, not postgresServerCpuS.
 */
export async function databaseBackendsCpuS(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
    database,
  ]);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const f = statFields(pid);
    if (f) out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

export async function adminClient(databaseUrl: string): Promise<pg.Client> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  return admin;
}
