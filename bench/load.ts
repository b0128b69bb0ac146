/**
 * `npm run bench:load`: the API and the orchestration under sustained load, as a benchmark (figures
 * for people to compare, nothing asserted). Results: bench/results/load-<ts>.json and
 * load-latest.json, plus a table on stdout.
 *
 * Scenarios (each on a fresh database; one Temporal dev server with a WAL SQLite file for both;
 * the API and the worker as separate processes, as deployed):
 *   workflows   20 workflows of 5,000 tasks on the dummy distributor, bound concurrently through
 *               the API and run concurrently. Every API call the 20 control scripts make is timed:
 *               error rate, p50/p95/p99; total time, tasks/s.
 *   heartbeats  10,000 task instances really RUNNING (bound, queued by the scheduler's own SQL,
 *               reported running through the API's `running` route as the wrapper does), each
 *               heartbeating at the wrapper's real interval (config default JMT_TI_HEARTBEAT_S,
 *               10 s → 1,000 requests/s) for a few minutes: error rate, p50/p95/p99, achieved rate.
 * Both sample every process's RSS and CPU (API, worker, Temporal, the database's Postgres
 * backends) over the whole run: start / middle / end / peak, so boundedness is visible.
 *
 *   node dist/bench/load.js [--only workflows,heartbeats] [--workflows 20] [--tasks 5000]
 *                           [--instances 10000] [--heartbeat-s 10] [--seconds 180] [--no-keepalive]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { Tool } from '../src/client';
import { loadConfig, projectRoot, type Config } from '../src/config';
import { createDb } from '../src/sql/db';
import { loadBatch, recordSubmission } from '../src/sql/batches';
import { markRunStarted } from '../src/sql/runs';
import { scheduleReadyTasks } from '../src/sql/scheduling';
import { devServerArgs } from '../src/temporal/dev-server-args';
import { freePort, freshDatabase, peakRssMiB, round, stop, until } from './support';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  only: string[];
  workflows: number;
  tasks: number;
  instances: number;
  heartbeatS: number;
  seconds: number;
  keepAlive: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const positive = (name: string, fallback: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!(n > 0)) {
      process.stderr.write(`bench:load: --${name} must be a number > 0, got ${JSON.stringify(raw)}\n`);
      process.exit(2);
    }
    return n;
  };
  return {
    only: (value('only') ?? 'workflows,heartbeats').split(','),
    workflows: positive('workflows', 20),
    tasks: positive('tasks', 5_000),
    instances: positive('instances', 10_000),
    // The wrapper's real rate: the default every wrapper gets from the API's `running` answer.
    heartbeatS: positive('heartbeat-s', loadConfig({}, {}).taskInstanceHeartbeatS),
    seconds: positive('seconds', 180),
    keepAlive: !argv.includes('--no-keepalive'),
  };
}

// ---------------------------------------------------------------------------------------------
// Latency records

interface CallStats {
  calls: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** A few error descriptions, for the reader; the count is in `errors`. */
  errorSamples: string[];
}

class Calls {
  readonly latencies: number[] = [];
  errors = 0;
  readonly errorSamples: string[] = [];

  record(ms: number, error?: string): void {
    this.latencies.push(ms);
    if (error !== undefined) {
      this.errors += 1;
      if (this.errorSamples.length < 5) this.errorSamples.push(error);
    }
  }

  stats(): CallStats {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number) =>
      sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))], 1) : NaN;
    return {
      calls: sorted.length,
      errors: this.errors,
      errorRate: sorted.length ? round(this.errors / sorted.length, 5) : 0,
      p50Ms: q(0.5),
      p95Ms: q(0.95),
      p99Ms: q(0.99),
      maxMs: sorted.length ? round(sorted[sorted.length - 1], 1) : NaN,
      errorSamples: this.errorSamples,
    };
  }
}

/**
 * Time every fetch this process makes to `apiUrl` (the client library uses the global fetch), by
 * kind of call: a bind, a run start and a status poll differ by orders of magnitude.
 */
function instrumentFetch(apiUrl: string, kinds: Map<string, Calls>, all: Calls): () => void {
  const original = globalThis.fetch;
  const kindOf = (url: string, method: string): string => {
    const p = url
      .slice(apiUrl.length)
      .replace(/\?.*$/, '')
      .split('/')
      .map((seg) => (/^\d+$/.test(seg) || /^[0-9a-f-]{36}$/.test(seg) ? '{id}' : seg))
      .join('/');
    return `${method} ${p}`;
  };
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    if (!url.startsWith(apiUrl)) return original(input, init);
    const kind = kindOf(url, init?.method ?? 'GET');
    let calls = kinds.get(kind);
    if (!calls) kinds.set(kind, (calls = new Calls()));
    const started = performance.now();
    try {
      const res = await original(input, init);
      // The body is part of the call's latency: read it here and hand back a copy.
      const body = await res.arrayBuffer();
      const ms = performance.now() - started;
      const error = res.ok ? undefined : `HTTP ${res.status} ${kind}: ${Buffer.from(body).toString().slice(0, 200)}`;
      calls.record(ms, error);
      all.record(ms, error);
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      const ms = performance.now() - started;
      const error = `${kind}: ${(err as Error).message}`;
      calls.record(ms, error);
      all.record(ms, error);
      throw err;
    }
  };
  return () => {
    globalThis.fetch = original;
  };
}

// ---------------------------------------------------------------------------------------------
// Process sampling (/proc): RSS and CPU of each process over the run

interface ProcSample {
  rssMiB: number;
  /** User + system CPU since the previous sample, as % of one core. */
  cpuPct: number;
}

interface Sample {
  t: number;
  procs: Record<string, ProcSample>;
}

interface ProcSummary {
  /** CPU time used while sampled: unlike %, it does not depend on how busy the machine was. */
  cpuSeconds: number;
  startRssMiB: number;
  middleRssMiB: number;
  endRssMiB: number;
  peakRssMiB: number;
  meanCpuPct: number;
  peakCpuPct: number;
}

const CLOCK_TICKS_PER_S = 100;

function readProc(pid: number): { rssKiB: number; anonKiB: number; ticks: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    return {
      rssKiB: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN),
      anonKiB: Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? NaN),
      ticks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return undefined;
  }
}

/**
 * Samples the named processes, plus the Postgres backends serving `database` summed as one
 * ("postgres"). For the backends only private memory (RssAnon) is summed: their full RSS counts
 * every page of shared_buffers each one touched, so the sum would grow towards backends ×
 * shared_buffers without any backend using more memory. The CPU is exact. The bench's own process
 * is sampled as "bench" (the load generator shares the machine's cores with what it measures).
 */
class Sampler {
  readonly samples: Sample[] = [];
  readonly #last = new Map<number, { ticks: number; at: number }>();
  readonly #cpuSeconds = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #admin: pg.Client | undefined;
  #busy = false;
  #stopped = false;

  constructor(
    private readonly procs: () => Record<string, number | undefined>,
    private readonly databaseUrl: string,
    private readonly everyMs = 1_000,
  ) {}

  async start(): Promise<void> {
    this.#admin = new pg.Client({ connectionString: this.databaseUrl });
    await this.#admin.connect();
    await this.#sample();
    this.#timer = setInterval(() => void this.#sample(), this.everyMs);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await until('the last sample', () => !this.#busy, 10_000, 20);
    await this.#sample();
    await this.#admin?.end();
  }

  /** CPU % of one core since this pid's previous sample; adds the CPU seconds to `name`'s total. */
  #cpu(name: string, pid: number, ticks: number, now: number): number {
    const last = this.#last.get(pid);
    this.#last.set(pid, { ticks, at: now });
    if (!last || now <= last.at) return 0;
    const seconds = (ticks - last.ticks) / CLOCK_TICKS_PER_S;
    this.#cpuSeconds.set(name, (this.#cpuSeconds.get(name) ?? 0) + seconds);
    return (seconds * 100_000) / (now - last.at);
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = Date.now();
      const procs: Record<string, ProcSample> = {};
      for (const [name, pid] of Object.entries({ ...this.procs(), bench: process.pid })) {
        if (!pid) continue;
        const p = readProc(pid);
        if (p)
          procs[name] = { rssMiB: round(p.rssKiB / 1024, 1), cpuPct: round(this.#cpu(name, pid, p.ticks, now), 1) };
      }
      const { rows } = await this.#admin!.query<{ pid: number }>(
        'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      let rssKiB = 0;
      let cpu = 0;
      for (const { pid } of rows) {
        const p = readProc(pid);
        if (!p) continue;
        rssKiB += p.anonKiB;
        cpu += this.#cpu('postgres', pid, p.ticks, now);
      }
      procs.postgres = { rssMiB: round(rssKiB / 1024, 1), cpuPct: round(cpu, 1) };
      this.samples.push({ t: now, procs });
    } catch {
      // A sample lost to a busy database is a gap in the series, not a failed benchmark.
    } finally {
      this.#busy = false;
    }
  }

  summary(): Record<string, ProcSummary> {
    const names = new Set(this.samples.flatMap((s) => Object.keys(s.procs)));
    const out: Record<string, ProcSummary> = {};
    for (const name of names) {
      const series = this.samples.map((s) => s.procs[name]).filter((p): p is ProcSample => p !== undefined);
      if (series.length === 0) continue;
      const cpus = series.slice(1).map((p) => p.cpuPct);
      out[name] = {
        cpuSeconds: round(this.#cpuSeconds.get(name) ?? 0, 1),
        startRssMiB: series[0].rssMiB,
        middleRssMiB: series[Math.floor(series.length / 2)].rssMiB,
        endRssMiB: series[series.length - 1].rssMiB,
        peakRssMiB: Math.max(...series.map((p) => p.rssMiB)),
        meanCpuPct: cpus.length ? round(cpus.reduce((a, b) => a + b, 0) / cpus.length, 1) : 0,
        peakCpuPct: cpus.length ? Math.max(...cpus) : 0,
      };
    }
    return out;
  }

  /** The RSS series thinned to about `points` samples, for the JSON (the full series is large). */
  series(points = 60): Sample[] {
    const step = Math.max(1, Math.ceil(this.samples.length / points));
    return this.samples.filter((_, i) => i % step === 0 || i === this.samples.length - 1);
  }
}

function perCall(processes: Record<string, ProcSummary>, calls: number, names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names)
    if (processes[name] && calls > 0) out[name] = round((processes[name].cpuSeconds * 1000) / calls, 3);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Environment: one Temporal dev server; per scenario a database, an API and (optionally) a worker

interface Temporal {
  address: string;
  process: ChildProcess;
  home: string;
}

async function startTemporal(): Promise<Temporal> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'jmt-bench-load-'));
  const port = await freePort();
  const child = spawn(
    loadConfig().temporalBin,
    ['server', 'start-dev', ...devServerArgs({ port, uiPort: null, dbFile: path.join(home, 'temporal.sqlite') })],
    // Its shutdown warnings would bury the table; a server that does not come up fails `until`.
    { stdio: 'ignore' },
  );
  const address = `127.0.0.1:${port}`;
  await until(
    'Temporal',
    async () => {
      const c = await Connection.connect({ address, connectTimeout: '1s' });
      await c.close();
      return true;
    },
    60_000,
  );
  return { address, process: child, home };
}

interface Stack {
  config: Config;
  databaseName: string;
  api: ChildProcess;
  worker?: ChildProcess;
  close(): Promise<void>;
}

async function startStack(name: string, temporal: Temporal, withWorker: boolean): Promise<Stack> {
  const databaseName = `jmt_bench_load_${name}`;
  const databaseUrl = await freshDatabase(databaseName);
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    JMT_API_PORT: String(apiPort),
    JMT_API_URL: `http://127.0.0.1:${apiPort}`,
    JMT_HOME: path.join(temporal.home, name),
    // Without a worker this queue has no poller: runs exist in Temporal but never advance.
    JMT_TASK_QUEUE: `bench-load-${name}`,
    JMT_WORKFLOW_ID_PREFIX: `bench-load-${name}`,
  };
  delete env.JMT_TOKENS;
  delete env.JMT_TI_HEARTBEAT_S;
  const config = loadConfig({}, env);
  const start = (entry: string) =>
    spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', entry, 'main.js')], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const api = start('api');
  await until('API', async () => (await fetch(`${config.apiUrl}/api/v1/health`)).ok, 60_000);
  const worker = withWorker ? start('worker') : undefined;
  return {
    config,
    databaseName,
    api,
    worker,
    async close() {
      await stop(worker);
      await stop(api);
      await dropDatabase(databaseName);
    },
  };
}

async function dropDatabase(name: string): Promise<void> {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

const say = (line: string) => process.stderr.write(`bench:load: ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Scenario 1: many workflows at once

interface WorkflowsResult {
  scenario: 'workflows';
  workflows: number;
  tasksPerWorkflow: number;
  tasks: number;
  bindSeconds: number;
  runSeconds: number;
  totalSeconds: number;
  tasksPerSecond: number;
  /** CPU milliseconds each process spent per task: what a quieter or bigger machine would scale by. */
  cpuMsPerTask: Record<string, number>;
  finalStatuses: Record<string, number>;
  failures: string[];
  api: CallStats;
  apiByKind: Record<string, CallStats>;
  processes: Record<string, ProcSummary>;
  peakRssMiBFromKernel: Record<string, number>;
  series: Sample[];
}

async function workflowsScenario(opts: Options, temporal: Temporal): Promise<WorkflowsResult> {
  const stack = await startStack('workflows', temporal, true);
  const sampler = new Sampler(
    () => ({ api: stack.api.pid, worker: stack.worker?.pid, temporal: temporal.process.pid }),
    stack.config.databaseUrl,
  );
  const all = new Calls();
  const kinds = new Map<string, Calls>();
  const restore = instrumentFetch(stack.config.apiUrl, kinds, all);
  try {
    await sampler.start();
    const workflows = Array.from({ length: opts.workflows }, (_, w) => {
      // One control script each: its own Tool, as 20 users would have.
      const tool = new Tool(`load-${w}`, { config: stack.config, stderr: { write: () => true } });
      const tt = tool.getTaskTemplate({ templateName: 'noop', commandTemplate: 'true {i}', nodeArgs: ['i'] });
      const wf = tool.createWorkflow({
        workflowArgs: `load-${w}`,
        defaultClusterName: 'dummy',
        defaultComputeResources: { queue: 'null.q' },
      });
      wf.addTasks(tt.createTasks({ i: Array.from({ length: opts.tasks }, (_, i) => i) }));
      return wf;
    });
    const started = performance.now();
    say(`binding ${opts.workflows} × ${opts.tasks} tasks concurrently`);
    // A failed call fails its workflow, not the benchmark: the failure is the finding (it is
    // counted in the API error rate and named in finalStatuses).
    const failures: string[] = [];
    const failed = (what: string) => (err: unknown) => {
      failures.push(`${what}: ${(err as Error).message}`);
      return undefined;
    };
    const boundIds = await Promise.all(workflows.map((wf, w) => wf.bind().catch(failed(`bind ${w}`))));
    const bound = performance.now();
    say(`running them concurrently`);
    const statuses = await Promise.all(
      workflows.map((wf, w) =>
        boundIds[w] === undefined
          ? 'bind failed'
          : wf.run({ progress: false, pollIntervalMs: 1_000 }).catch(failed(`run ${w}`)),
      ),
    );
    const ended = performance.now();
    await sampler.stop();
    const finalStatuses: Record<string, number> = {};
    for (const s of statuses) finalStatuses[s ?? 'run failed'] = (finalStatuses[s ?? 'run failed'] ?? 0) + 1;
    const tasks = opts.workflows * opts.tasks;
    const processes = sampler.summary();
    return {
      scenario: 'workflows',
      workflows: opts.workflows,
      tasksPerWorkflow: opts.tasks,
      tasks,
      bindSeconds: round((bound - started) / 1000),
      runSeconds: round((ended - bound) / 1000),
      totalSeconds: round((ended - started) / 1000),
      tasksPerSecond: Math.round(tasks / ((ended - started) / 1000)),
      cpuMsPerTask: perCall(processes, tasks, ['api', 'worker', 'temporal', 'postgres']),
      finalStatuses,
      failures,
      api: all.stats(),
      apiByKind: Object.fromEntries([...kinds].map(([k, c]) => [k, c.stats()])),
      processes,
      peakRssMiBFromKernel: {
        api: peakRssMiB(stack.api.pid),
        worker: peakRssMiB(stack.worker?.pid),
        temporal: peakRssMiB(temporal.process.pid),
      },
      series: sampler.series(),
    };
  } finally {
    restore();
    await sampler.stop().catch(() => undefined);
    await stack.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: heartbeats of 10,000 running instances

interface HeartbeatsResult {
  scenario: 'heartbeats';
  instances: number;
  heartbeatIntervalS: number;
  targetPerSecond: number;
  seconds: number;
  /** Heartbeats sent per second, and answered with 200 within the wrapper's 20 s timeout. */
  sentPerSecond: number;
  answeredPerSecond: number;
  /** CPU milliseconds per answered heartbeat (API process, Postgres backends). */
  cpuMsPerHeartbeat: Record<string, number>;
  keepAlive: boolean;
  setupSeconds: number;
  running: CallStats;
  heartbeats: CallStats;
  /** Answers other than status R (e.g. K): should be none. */
  unexpectedAnswers: number;
  processes: Record<string, ProcSummary>;
  series: Sample[];
}

interface HttpAnswer {
  status: number;
  body: string;
}

function post(agent: http.Agent, url: URL, body: unknown, timeoutMs: number): Promise<HttpAnswer> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    // A deadline for the whole call, as the wrapper's fetch has (AbortSignal.timeout): time spent
    // waiting for a free socket counts too, so a server that falls behind shows up as errors.
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', reject);
    req.end(data);
  });
}

async function heartbeatsScenario(opts: Options, temporal: Temporal): Promise<HeartbeatsResult> {
  const stack = await startStack('heartbeats', temporal, false);
  const db = createDb(stack.config.databaseUrl, 2);
  // Real wrappers reach the API through a load balancer that keeps its upstream connections open;
  // --no-keepalive makes one connection per heartbeat instead (each wrapper talking directly).
  const agent = new http.Agent({ keepAlive: opts.keepAlive, maxSockets: opts.keepAlive ? 256 : Infinity });
  const sampler = new Sampler(() => ({ api: stack.api.pid, temporal: temporal.process.pid }), stack.config.databaseUrl);
  const base = `${stack.config.apiUrl}/api/v1`;
  // The wrapper's own request timeout (src/worker-node/api-client.ts).
  const timeoutMs = 20_000;
  try {
    const setupStart = performance.now();
    say(`binding ${opts.instances} tasks and queueing them`);
    const tool = new Tool('load-heartbeats', { config: stack.config, stderr: { write: () => true } });
    const tt = tool.getTaskTemplate({ templateName: 'long', commandTemplate: 'sleep 3600 # {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'load-heartbeats',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
      maxConcurrentlyRunning: opts.instances,
    });
    wf.addTasks(tt.createTasks({ i: Array.from({ length: opts.instances }, (_, i) => i) }));
    const workflowId = await wf.bind();
    const started = (await tool.api.post(`/workflows/${workflowId}/runs`, { resume_mode: 'cold' })) as {
      workflow_run_id: number;
    };
    const runId = started.workflow_run_id;
    // No worker polls this stack's task queue: do the run's first steps with the same SQL its
    // activities use, so the instances are real rows the scheduler queued.
    await markRunStarted(db, runId);
    const batchIds: number[] = [];
    for (;;) {
      const r = await scheduleReadyTasks(db, { workflowRunId: runId, maxBatches: 400 });
      if (r.newBatchIds.length === 0) break;
      batchIds.push(...r.newBatchIds);
    }
    // What the batch monitor records once the distributor accepted the jobs (Q → O, job ids).
    const reportBySeconds = stack.config.taskInstanceHeartbeatS * stack.config.reportByBuffer;
    const ids: number[] = [];
    for (const batchId of batchIds) {
      const batch = await loadBatch(db, batchId);
      const batchIdsOfInstances = (batch?.toSubmit ?? []).map((i) => i.taskInstanceId);
      ids.push(...batchIdsOfInstances);
      await recordSubmission(
        db,
        batchId,
        new Map(batchIdsOfInstances.map((id) => [id, `bench-${id}`])),
        undefined,
        reportBySeconds,
      );
    }
    if (ids.length !== opts.instances)
      throw new Error(`expected ${opts.instances} queued instances, got ${ids.length}`);

    say(`reporting ${ids.length} instances running through the API`);
    const running = new Calls();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < ids.length) {
          const id = ids[next++];
          const t0 = performance.now();
          try {
            const res = await post(
              agent,
              new URL(`${base}/task-instances/${id}/running`),
              { distributor_id: `bench-${id}`, nodename: os.hostname(), process_id: 1 },
              timeoutMs,
            );
            running.record(performance.now() - t0, res.status === 200 ? undefined : `HTTP ${res.status} ${res.body}`);
          } catch (err) {
            running.record(performance.now() - t0, (err as Error).message);
          }
        }
      }),
    );
    const setupSeconds = round((performance.now() - setupStart) / 1000);

    say(`${ids.length} instances heartbeating every ${opts.heartbeatS} s for ${opts.seconds} s`);
    await sampler.start();
    const heartbeats = new Calls();
    let unexpected = 0;
    const intervalMs = opts.heartbeatS * 1000;
    const t0 = Date.now();
    const endAt = t0 + opts.seconds * 1000;
    // Each instance beats on its own clock with a random phase, as wrappers started at different
    // moments do; open loop: a slow answer does not delay the next beat of other instances.
    const due = ids.map((id) => ({ id, at: t0 + Math.random() * intervalMs }));
    const inFlight = new Set<Promise<void>>();
    const beat = (id: number) => {
      const started = performance.now();
      const p = post(
        agent,
        new URL(`${base}/task-instances/${id}/heartbeat`),
        { distributor_id: `bench-${id}` },
        timeoutMs,
      )
        .then((res) => {
          heartbeats.record(
            performance.now() - started,
            res.status === 200 ? undefined : `HTTP ${res.status} ${res.body}`,
          );
          if (res.status === 200 && !res.body.includes('"R"')) unexpected += 1;
        })
        .catch((err: Error) => heartbeats.record(performance.now() - started, err.message))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    while (Date.now() < endAt) {
      const now = Date.now();
      for (const d of due) {
        if (d.at <= now) {
          beat(d.id);
          d.at += intervalMs;
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all([...inFlight]);
    const elapsedS = (Date.now() - t0) / 1000;
    await sampler.stop();
    const processes = sampler.summary();
    const answered = heartbeats.latencies.length - heartbeats.errors;
    return {
      scenario: 'heartbeats',
      instances: ids.length,
      heartbeatIntervalS: opts.heartbeatS,
      targetPerSecond: Math.round(ids.length / opts.heartbeatS),
      seconds: round(elapsedS, 1),
      sentPerSecond: Math.round(heartbeats.latencies.length / elapsedS),
      answeredPerSecond: Math.round(answered / elapsedS),
      cpuMsPerHeartbeat: perCall(processes, answered, ['api', 'postgres']),
      keepAlive: opts.keepAlive,
      setupSeconds,
      running: running.stats(),
      heartbeats: heartbeats.stats(),
      unexpectedAnswers: unexpected,
      processes,
      series: sampler.series(),
    };
  } finally {
    agent.destroy();
    await sampler.stop().catch(() => undefined);
    await db.destroy();
    await stack.close();
  }
}

// ---------------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  '))
    .join('\n');
}

function print(results: (WorkflowsResult | HeartbeatsResult)[]): void {
  const calls: string[][] = [['calls', 'n', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms']];
  const row = (name: string, s: CallStats) =>
    calls.push([name, String(s.calls), String(s.errors), ...[s.p50Ms, s.p95Ms, s.p99Ms, s.maxMs].map(String)]);
  const procs: string[][] = [
    ['process: RSS MiB, CPU', 'start', 'middle', 'end', 'peak', 'cpu s', 'mean cpu %', 'peak cpu %'],
  ];
  for (const r of results) {
    if (r.scenario === 'workflows') {
      console.log(
        `workflows: ${r.workflows} × ${r.tasksPerWorkflow} = ${r.tasks} tasks; bind ${r.bindSeconds} s, run ${r.runSeconds} s, ` +
          `total ${r.totalSeconds} s, ${r.tasksPerSecond} tasks/s; final statuses ${JSON.stringify(r.finalStatuses)}; ` +
          `CPU ms per task ${JSON.stringify(r.cpuMsPerTask)}`,
      );
      row('workflows: all API calls', r.api);
      for (const [k, s] of Object.entries(r.apiByKind)) row(`  ${k}`, s);
    } else {
      console.log(
        `heartbeats: ${r.instances} instances every ${r.heartbeatIntervalS} s (target ${r.targetPerSecond}/s) for ${r.seconds} s: ` +
          `sent ${r.sentPerSecond}/s, answered ${r.answeredPerSecond}/s; CPU ms per heartbeat ${JSON.stringify(r.cpuMsPerHeartbeat)}; keep-alive ${r.keepAlive}, unexpected answers ${r.unexpectedAnswers}; setup ${r.setupSeconds} s`,
      );
      row('heartbeats: running reports', r.running);
      row('heartbeats: heartbeats', r.heartbeats);
    }
    for (const [name, p] of Object.entries(r.processes)) {
      procs.push([
        `${r.scenario}: ${name}`,
        ...[p.startRssMiB, p.middleRssMiB, p.endRssMiB, p.peakRssMiB, p.cpuSeconds, p.meanCpuPct, p.peakCpuPct].map(
          String,
        ),
      ]);
    }
  }
  console.log(table(calls));
  console.log(table(procs));
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const unknown = opts.only.filter((s) => s !== 'workflows' && s !== 'heartbeats');
  if (unknown.length) {
    process.stderr.write(`bench:load: unknown scenario ${unknown.join(', ')}; known: workflows, heartbeats\n`);
    process.exit(2);
  }
  const temporal = await startTemporal();
  const results: (WorkflowsResult | HeartbeatsResult)[] = [];
  try {
    if (opts.only.includes('workflows')) results.push(await workflowsScenario(opts, temporal));
    if (opts.only.includes('heartbeats')) results.push(await heartbeatsScenario(opts, temporal));
  } finally {
    await stop(temporal.process);
    rmSync(temporal.home, { recursive: true, force: true });
  }
  print(results);
  const record = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    options: opts,
    results,
  };
  const dir = path.join(projectRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = record.date.replace(/[:.]/g, '-');
  const text = `${JSON.stringify(record, null, 2)}\n`;
  writeFileSync(path.join(dir, `load-${stamp}.json`), text);
  writeFileSync(path.join(dir, 'load-latest.json'), text);
  console.log(`saved bench/results/load-${stamp}.json`);
}

main().catch((err) => {
  console.error(`bench:load: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
