/**
 * `npm run bench:million`: 1,000,000 tasks on the dummy distributor, this project alone. The DAG
 * is bench/run.ts's layered-100k with every level scaled ×10: 1 → 1,000 → 100,000 → 897,998 →
 * 1,000 (fan-in) → 1, 1,897,996 edges. Before it, a 20-level chain of no-op tasks on the same
 * stack gives the latency per DAG level.
 *
 * Figures: bind s (streamed: split at the last chunk's answer into staging and the commit, each
 * with the CPU of client, services and Postgres), run s, tasks/s, every Temporal execution of the
 * run (continue-as-new included) with its history length counted from the history (the largest must
 * stay far below Temporal's 51,200 limit; the project's own bound is 10,000), the most pending
 * activities seen, peak memory of each process (this client, the API, the worker, the Temporal dev
 * server, the Postgres backends of the database), observers under load while the run goes (50
 * clients each on status, progress and task-list pages at random depths by cursor), a rebind of the
 * same tasks (the same workflow), the same tasks again from the Python client's bind_stream
 * (bench/million_bind.py: the same workflow; its process's peak RSS), the database's size by table
 * and index and per task, the machine's load. Everything runs as a non-superuser role owning its
 * database (support.ts: BENCH_ROLE). The goals of issue 18 are printed with their ratios. Saved to
 * bench/results/million-<time>.json and million-latest.json.
 * Nothing asserts: targets are read by people.
 *
 * The API and the worker run as two processes, as a site deploys them (docker-compose.yml): the
 * observers' figures are then the API's, not the API's queued behind the run's activities.
 * `--one-process` measures `jmt up`'s shape instead (both in one process, as on a laptop).
 *
 * The client streams its tasks (`Workflow.bindStream`, tasks made as they are drawn, upstreams named
 * by `template.ref`), so its peak RSS is what binding a million tasks costs a control script;
 * `--hold-tasks` builds every Task object first and binds by addTasks + bind() instead.
 *
 *   node --max-old-space-size=8192 dist/bench/million.js [--tasks N] [--load-seconds S] [--one-process] [--hold-tasks]
 *   (N default 1,000,000; S 10; the heap flag is for --hold-tasks: the 1,000,000 Task objects it builds)
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient, Tool, type Task, type Workflow } from '../src/client';
import { projectRoot } from '../src/config';
import { temporalWorkflowId } from '../src/temporal/ids';
import {
  adminClient,
  postgresServerCpuS,
  executionHistories,
  layeredTasks,
  layeredTaskStream,
  memoryMiB,
  postgresBackendsMiB,
  startStack,
  type BenchStack,
} from './environment';
import { round } from './support';
import { load, type EndpointFigures } from './observer-load';
import pg from 'pg';

const log = (line: string) => process.stderr.write(`bench:million ${new Date().toISOString().slice(11, 19)} ${line}\n`);

function argValue(name: string, fallback: number, min = 1_000): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`${name} must be a whole number ≥ ${min}`);
    process.exit(2);
  }
  return v;
}

function tool(stack: BenchStack, name: string): Tool {
  // A million-task commit runs for minutes on a loaded box: give every request half an hour.
  const api = ApiClient.fromConfig(stack.config, { timeoutMs: 30 * 60_000 });
  return new Tool(name, { config: stack.config, api, stderr: { write: () => true } });
}

interface PythonBind {
  seconds: number;
  workflowId: number;
  newlyCreated: boolean;
  peakRssMiB: number;
  cpuSeconds: number;
}

/**
 * The same tasks stream-bound by the Python client (bench/million_bind.py, `bind_stream`) in a
 * process of its own, so its peak RSS is the Python client's alone. Skipped, with the reason, where
 * the project's venv is missing.
 */
function pythonBind(stack: BenchStack, total: number): Promise<PythonBind | { skipped: string }> {
  const python = path.join(projectRoot(), '.venv', 'bin', 'python');
  if (!existsSync(python)) return Promise.resolve({ skipped: `${python} missing (bash scripts/setup.sh)` });
  const script = path.join(projectRoot(), 'bench', 'million_bind.py');
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [script, String(total)],
      { env: stack.env, timeout: 30 * 60_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`bench/million_bind.py failed: ${err.message}\n${stderr.slice(-2_000)}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as PythonBind);
      },
    );
  });
}

async function chainLatency(stack: BenchStack): Promise<{ levels: number; runSeconds: number; perLevel: number }> {
  const t = tool(stack, 'bench-chain');
  const tt = t.getTaskTemplate({ templateName: 'step', commandTemplate: 'true {i}', nodeArgs: ['i'] });
  const tasks: Task[] = [];
  for (let i = 0; i < 20; i++) tasks.push(tt.createTask({ i, upstreamTasks: i > 0 ? [tasks[i - 1]] : [] }));
  const wf = t.createWorkflow({
    workflowArgs: 'bench-chain-20',
    defaultClusterName: 'dummy',
    defaultComputeResources: { queue: 'null.q' },
  });
  wf.addTasks(tasks);
  await wf.bind();
  const start = performance.now();
  const status = await wf.run({ progress: false, pollIntervalMs: 100 });
  const runSeconds = (performance.now() - start) / 1000;
  if (status !== 'D') throw new Error(`chain-20 ended with status ${status}`);
  return { levels: 20, runSeconds: round(runSeconds), perLevel: round(runSeconds / 20, 3) };
}

/** utime + stime of a process from /proc/PID/stat, in seconds (0 once it has gone). */
function cpuOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

interface CpuSample {
  client: number;
  services: number;
  postgres: number;
}

/** CPU seconds so far of this client, the services (API + worker) and the whole Postgres server. */
async function processCpu(stack: BenchStack, admin: pg.Client): Promise<CpuSample> {
  const usage = process.cpuUsage();
  return {
    client: (usage.user + usage.system) / 1e6,
    services: cpuOf(stack.services.pid) + cpuOf(stack.worker?.pid),
    postgres: await postgresServerCpuS(admin),
  };
}

/** CPU spent between two samples. */
function cpuSince(a: CpuSample, b: CpuSample): { client: number; services: number; postgres: number; total: number } {
  const client = b.client - a.client;
  const services = b.services - a.services;
  const postgres = b.postgres - a.postgres;
  return {
    client: round(client),
    services: round(services),
    postgres: round(postgres),
    total: round(client + services + postgres),
  };
}

/** SQL as the bench's (non-superuser) role on the bench database. */
async function sql(stack: BenchStack, text: string): Promise<pg.QueryResult> {
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    return await db.query(text);
  } finally {
    await db.end();
  }
}

/**
 * Observers while the run goes: 50 clients for `seconds` on each of status, progress and task-list
 * pages (100 tasks after a cursor at a random depth), once the run has started; an endpoint whose
 * turn comes after the run ended is measured anyway and marked so.
 */
async function observeWhileRunning(
  stack: BenchStack,
  workflowId: number,
  numTasks: number,
  seconds: number,
  ended: () => boolean,
): Promise<(EndpointFigures & { duringRun: boolean })[]> {
  const { rows } = await sql(stack, `select min(id)::bigint as first from task where workflow_id = ${workflowId}`);
  const first = Number(rows[0].first);
  const base = `/api/v1/workflows/${workflowId}`;
  const endpoints: [string, () => string][] = [
    ['status', () => `${base}/status`],
    ['progress', () => `${base}/progress`],
    [
      'tasks page (cursor, random depth)',
      () => `${base}/tasks?limit=100&after=${first + Math.floor(Math.random() * numTasks)}`,
    ],
  ];
  const out: (EndpointFigures & { duringRun: boolean })[] = [];
  for (const [name, path] of endpoints) {
    const duringRun = !ended();
    out.push({ ...(await load(name, stack.config.apiUrl, path, 50, seconds)), duringRun });
    log(`observers: ${name} p95 ${out[out.length - 1].p95Ms} ms${duringRun ? '' : ' (after the run)'}`);
  }
  return out;
}

/** Every table and index of the database with its size, largest first. */
async function databaseSizes(stack: BenchStack): Promise<{ name: string; kind: string; MiB: number }[]> {
  const { rows } = await sql(
    stack,
    `select c.relname as name, case c.relkind when 'i' then 'index' else 'table' end as kind,
            pg_relation_size(c.oid) + case when c.relkind = 'r' then coalesce(pg_total_relation_size(c.reltoastrelid), 0) else 0 end as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'i')
      order by bytes desc limit 30`,
  );
  return rows.map((r: { name: string; kind: string; bytes: string }) => ({
    name: r.name,
    kind: r.kind,
    MiB: round(Number(r.bytes) / 2 ** 20, 1),
  }));
}

interface Figures {
  tasks: number;
  bindSeconds: number;
  tasksPerSecond: number;
  maxHistoryEvents: number;
  /** 2: the API and the worker in processes of their own; 1: both in one (`--one-process`). */
  processes: 1 | 2;
  memoryMiB: { client: number; services: number };
  observers: (EndpointFigures & { duringRun: boolean })[];
  rebind: { sameWorkflow: boolean };
  pythonRebind: (PythonBind & { sameWorkflow: boolean }) | { skipped: string };
}

/** Issue 18's goals, each as measured / goal (≤ 1 is met, except throughput: ≥ 1). */
function goalLines(r: Figures): string[] {
  const scale = r.tasks / 1_000_000;
  const bindGoal = r.tasks <= 100_000 ? 3 * (r.tasks / 100_000) : 40 * scale;
  const p95 = (name: string) => r.observers.find((o) => o.endpoint.startsWith(name));
  const line = (what: string, value: number, goal: number, unit: string, higherIsBetter = false) => {
    const ratio = round(value / goal, 2);
    const met = higherIsBetter ? ratio >= 1 : ratio <= 1;
    return `goal ${what}: ${value} ${unit} / ${goal} ${unit} = ${ratio} ${met ? 'met' : 'NOT met'}`;
  };
  const obs = (name: string, goal: number) => {
    const o = p95(name);
    return o
      ? [line(`${name} p95 (50 clients${o.duringRun ? ', during the run' : ', after the run'})`, o.p95Ms, goal, 'ms')]
      : [];
  };
  return [
    line(`bind ${r.tasks} tasks`, r.bindSeconds, round(bindGoal, 2), 's'),
    line(
      r.processes === 2 ? 'API peak RSS' : 'API (services: API + worker) peak RSS',
      r.memoryMiB.services,
      1024,
      'MiB',
    ),
    line('client peak RSS', r.memoryMiB.client, 1024, 'MiB'),
    'skipped' in r.pythonRebind
      ? `goal Python client peak RSS: not measured (${r.pythonRebind.skipped})`
      : line('Python client peak RSS (bind_stream)', r.pythonRebind.peakRssMiB, 1024, 'MiB'),
    line('run throughput', r.tasksPerSecond, 4000, 'tasks/s', true),
    line('largest history', r.maxHistoryEvents, 10_000, 'events'),
    ...obs('status', 50),
    ...obs('progress', 150),
    ...obs('tasks page', 50),
    `goal rebind of the same tasks is the same workflow: ${r.rebind.sameWorkflow ? 'met' : 'NOT met'}`,
    ...('skipped' in r.pythonRebind
      ? []
      : [`goal the same tasks from Python are the same workflow: ${r.pythonRebind.sameWorkflow ? 'met' : 'NOT met'}`]),
  ];
}

async function main(): Promise<void> {
  const total = argValue('--tasks', 1_000_000);
  const scale = Math.max(1, Math.round(total / 100_000));
  const loadSeconds = argValue('--load-seconds', 10, 1);
  // No heap flag: the bind streams, so the API's default heap must do (issue 18: ≤ 1 GB).
  // JMT_BENCH_PROFILE_DIR=dir: the services process writes a CPU profile there (node --cpu-prof).
  const profileDir = process.env.JMT_BENCH_PROFILE_DIR;
  const split = !process.argv.includes('--one-process');
  const hold = process.argv.includes('--hold-tasks');
  const stack = await startStack('million', {
    servicesNodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    split,
  });
  const admin = await adminClient(stack.databaseUrl);
  let pgPeak = { backends: 0, totalMiB: 0, maxMiB: 0 };
  let servicesPeakRss = 0;
  let workerPeakRss = 0;
  let temporalPeakRss = 0;
  let maxPending = 0;
  let sampling = true;
  let temporalId: string | undefined;
  // One sampler for the whole bench: Postgres backends come and go, so their peak is sampled.
  const sampler = (async () => {
    while (sampling) {
      try {
        const pgNow = await postgresBackendsMiB(admin, stack.databaseName);
        if (pgNow.totalMiB > pgPeak.totalMiB) pgPeak = pgNow;
        servicesPeakRss = Math.max(servicesPeakRss, memoryMiB(stack.services.pid, 'VmRSS') || 0);
        if (stack.worker) workerPeakRss = Math.max(workerPeakRss, memoryMiB(stack.worker.pid, 'VmRSS') || 0);
        temporalPeakRss = Math.max(temporalPeakRss, memoryMiB(stack.temporal.pid, 'VmRSS') || 0);
        if (temporalId) {
          const d = await stack.client.workflow.getHandle(temporalId).describe();
          maxPending = Math.max(maxPending, d.raw.pendingActivities?.length ?? 0);
        }
      } catch {
        /* not started yet, or between executions */
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  try {
    log('chain-20 ...');
    const chain = await chainLatency(stack);
    log(`chain-20: ${chain.runSeconds} s, ${chain.perLevel} s per level`);

    const t = tool(stack, 'bench-million');
    const newWorkflow = () =>
      t.createWorkflow({
        workflowArgs: `bench-million-${total}`,
        defaultClusterName: 'dummy',
        defaultComputeResources: { queue: 'null.q' },
      });
    let mark = performance.now();
    // Streamed (the default): tasks are made as bindStream draws them and dropped once sent, as a
    // control script too large to hold its DAG binds. --hold-tasks: every Task object built first
    // and bound by addTasks + bind(), the way a small script binds (the client then holds them all).
    const shape = hold ? layeredTasks(t, scale, total) : layeredTaskStream(t, scale, total);
    const count = 'count' in shape ? shape.count : shape.tasks.length;
    const bindAll = async (wf: Workflow, onProgress?: (p: { sent: number }) => void): Promise<number> => {
      if ('count' in shape)
        return wf.bindStream(shape.tasks(), { templates: shape.templates, total: count, onProgress });
      wf.addTasks(shape.tasks);
      return wf.bind();
    };
    const wf = newWorkflow();
    const buildSeconds = (performance.now() - mark) / 1000;
    // What the client holds before any bind (with --hold-tasks, the bench's own Task objects),
    // against its peak: the difference is what binding costs the client.
    const clientBuilt = {
      rss: memoryMiB(process.pid, 'VmRSS'),
      heap: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    };
    log(`${hold ? 'built' : 'streaming'} ${count} tasks, ${shape.edges} edges (${round(buildSeconds)} s); binding ...`);

    const cpuBefore = await processCpu(stack, admin);
    // When the last chunk is acknowledged (streamed only): staging ends and the commit, one
    // transaction on one Postgres backend, begins. Its CPU sample is started then, read later.
    let staged: { at: number; cpu: Promise<CpuSample> } | undefined;
    mark = performance.now();
    const workflowId = await bindAll(wf, ({ sent }) => {
      if (sent === count) staged = { at: performance.now(), cpu: processCpu(stack, admin) };
    });
    const bindSeconds = (performance.now() - mark) / 1000;
    const cpuAfter = await processCpu(stack, admin);
    const bindCpu = cpuSince(cpuBefore, cpuAfter);
    let bindPhases: Record<string, unknown> | undefined;
    if (staged) {
      const stageSeconds = (staged.at - mark) / 1000;
      const stagedCpu = await staged.cpu;
      bindPhases = {
        stageSeconds: round(stageSeconds),
        stageCpuSeconds: cpuSince(cpuBefore, stagedCpu),
        commitSeconds: round(bindSeconds - stageSeconds),
        commitCpuSeconds: cpuSince(stagedCpu, cpuAfter),
      };
    }
    log(`bound workflow ${workflowId} in ${round(bindSeconds)} s (CPU s: ${JSON.stringify(bindCpu)}); running ...`);
    if (bindPhases) log(`bind phases: ${JSON.stringify(bindPhases)}`);

    // What autovacuum would do soon after the bind's inserts (this box's CI configuration turns it
    // off). Only these tables: analysing task_instance while it is still empty would tell the
    // planner it stays tiny for the whole run.
    await sql(stack, 'analyze task, task_dependency, task_attribute, task_status_count');
    temporalId = temporalWorkflowId(stack.config, workflowId);
    mark = performance.now();
    const running = wf.run({ progress: false, pollIntervalMs: 2_000 });
    let runEnd = 0;
    void running.then(() => (runEnd = performance.now()));
    const observers = await observeWhileRunning(stack, workflowId, count, loadSeconds, () => runEnd > 0);
    const status = await running;
    const runSeconds = (runEnd - mark) / 1000;
    log(`run ended ${status} in ${round(runSeconds)} s`);
    sampling = false;
    await sampler;

    log('rebinding the same tasks ...');
    mark = performance.now();
    const again = newWorkflow();
    const rebindId = await bindAll(again);
    const rebind = {
      seconds: round((performance.now() - mark) / 1000),
      sameWorkflow: rebindId === workflowId && again.lastBind?.newly_created === false,
    };
    log(`rebind: ${rebind.seconds} s, same workflow: ${rebind.sameWorkflow}`);
    log('rebinding the same tasks from Python (bind_stream) ...');
    const python = await pythonBind(stack, count);
    const pythonRebind =
      'skipped' in python
        ? python
        : { ...python, sameWorkflow: python.workflowId === workflowId && python.newlyCreated === false };
    log(`python rebind: ${JSON.stringify(pythonRebind)}`);
    const sizes = await databaseSizes(stack);
    log('observers after the run ...');
    const observersAfter = await observeWhileRunning(stack, workflowId, count, loadSeconds, () => true);

    const executions = await executionHistories(stack.client, temporalId);
    const { rows } = await admin.query<{ bytes: string }>('select pg_database_size($1) as bytes', [stack.databaseName]);
    const result = {
      tasks: count,
      processes: split ? (2 as const) : (1 as const),
      client: hold ? ('held tasks' as const) : ('streamed' as const),
      edges: shape.edges,
      shape: `1 → ${100 * scale} → ${10_000 * scale} → ${total - 2 - 10_200 * scale} → ${100 * scale} → 1`,
      finalStatus: status,
      buildSeconds: round(buildSeconds),
      bindSeconds: round(bindSeconds),
      bindCpuSeconds: bindCpu,
      bindPhases,
      runSeconds: round(runSeconds),
      tasksPerSecond: Math.round(count / runSeconds),
      executions: executions.length,
      maxHistoryEvents: Math.max(...executions.map((e) => e.events)),
      historyEventsPerExecution: executions.map((e) => e.events),
      maxPendingActivities: maxPending,
      chain20: chain,
      memoryMiB: {
        client: memoryMiB(process.pid, 'VmHWM'),
        clientAfterBuild: clientBuilt.rss,
        clientHeapAfterBuild: clientBuilt.heap,
        services: Math.max(servicesPeakRss, memoryMiB(stack.services.pid, 'VmHWM') || 0),
        ...(stack.worker && { worker: Math.max(workerPeakRss, memoryMiB(stack.worker.pid, 'VmHWM') || 0) }),
        temporal: Math.max(temporalPeakRss, memoryMiB(stack.temporal.pid, 'VmHWM') || 0),
        postgresBackendsPeakTotal: pgPeak.totalMiB,
        postgresBackendsPeakOne: pgPeak.maxMiB,
        postgresBackendsAtPeak: pgPeak.backends,
      },
      databaseMiB: Math.round(Number(rows[0].bytes) / 2 ** 20),
      bytesPerTask: Math.round(Number(rows[0].bytes) / count),
      relations: sizes,
      observers,
      observersAfterRun: observersAfter,
      rebind,
      pythonRebind,
      load: os.loadavg().map((l) => round(l, 1)),
    };
    const goals = goalLines(result);
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `million: bind ${result.bindSeconds} s, run ${result.runSeconds} s (${result.tasksPerSecond} tasks/s), ` +
        `${result.executions} executions, largest history ${result.maxHistoryEvents} events (limit 10,000), ` +
        `pending activities ≤ ${result.maxPendingActivities}; chain-20 ${chain.perLevel} s per level`,
    );
    for (const line of goals) console.log(line);
    const dir = path.join(projectRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const record = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      result,
      goals,
    };
    const stamp = record.date.replace(/[:.]/g, '-');
    writeFileSync(path.join(dir, `million-${stamp}.json`), `${JSON.stringify(record, null, 2)}\n`);
    writeFileSync(path.join(dir, 'million-latest.json'), `${JSON.stringify(record, null, 2)}\n`);
    console.log(`saved bench/results/million-${stamp}.json`);
  } finally {
    sampling = false;
    await sampler;
    await admin.end();
    await stack.close();
  }
}

main().catch((err) => {
  console.error(`bench:million: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
