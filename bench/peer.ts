/**
 * `npm run bench:peer`: the same DAGs run by our system and by the real IHME Jobmon (3.3.0, installed
 * by bench/peer/setup-jobmon.sh), one after the other, each on freshly started servers and an empty
 * database. Two suites:
 *   dummy  the shapes below on both `dummy` distributors (tasks are marked done without running:
 *          this measures orchestration only)
 *   real   flat DAGs of `true` and a mix of 1–5 s sleeps on both `multiprocess` distributors (and
 *          `sequential` if asked), every task run, both with the same number of slots (--slots)
 * Jobmon's server: its Flask app under gunicorn (--workers) on a fresh MariaDB database (default,
 * its production shape), or `--jobmon-server dev`: Flask's dev server on SQLite (its local mode, the
 * comparison as first published). Prints a table with each figure as ours / Jobmon's, saves JSON
 * under bench/results/peer-*.json and draws docs/img/peer-tasks-per-second.png. Not a test.
 *
 *   node dist/bench/peer.js [--quick] [--sizes 1000,10000,100000] [--shapes wide,chain,layered,realistic]
 *                           [--timeout 900] [--jobmon-sync 1] [--systems ours,jobmon] [--no-plot]
 *                           [--suites dummy,real] [--jobmon-server gunicorn|dev] [--workers 4]
 *                           [--slots 8] [--real-true 100,300] [--real-mix 40]
 *                           [--real-distributors multiprocess,sequential]
 *   node dist/bench/peer.js --plot-only bench/results/peer-latest.json   (table + PNG from saved figures)
 *
 * Shapes: bench/peer/shapes.ts. chain is 20 tasks whatever the size and runs once per system, and
 * twice for Jobmon: with its default 30 s sync interval and with the 1 s its own tests use. The
 * other shapes run Jobmon with --jobmon-sync (default 1 s, the setting most favourable to Jobmon).
 * Figures per run: bind s, first task started s, run s, tasks/s, CPU s and peak summed RSS of all
 * processes of the system (servers, worker, client and its children, and for ours the Postgres
 * backends serving its database), database size after the run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from '../src/config';
import { plotSvg, renderPng, type PlotPoint } from './peer/plot';
import { SystemSampler, type SystemUsage } from './peer/proc-sampler';
import { buildShape, isShapeName, writeShape, type ShapeName } from './peer/shapes';
import {
  JOBMON_PYTHON,
  PEER_DIR,
  jobmonDatabase,
  MARIADB_URL,
  startJobmon,
  startOurs,
  type JobmonServer,
  type RunningStack,
} from './peer/stacks';

type System = 'ours' | 'jobmon';
type Suite = 'dummy' | 'real';
type Distributor = 'dummy' | 'multiprocess' | 'sequential';

interface SideFigures {
  tasks: number;
  edges: number;
  build_s: number;
  bind_s: number;
  first_task_started_s: number | null;
  run_s: number;
  tasks_per_s: number | null;
  /** Tasks DONE when the run ended (what a timed-out run got through). */
  done_tasks: number | null;
  status: string;
  timed_out: boolean;
  error: string;
  client_cpu_s: number;
}

interface RunFigures extends SideFigures {
  system: System;
  distributor: Distributor;
  /** How Jobmon's server ran; null for ours. */
  jobmonServer: JobmonServer | null;
  shape: ShapeName;
  requestedSize: number;
  /** Jobmon's heartbeat.workflow_run_interval for this run; null for ours. */
  syncIntervalS: number | null;
  cpuSeconds: number;
  cpuSPerTask: number;
  peakRssMiB: number;
  processes: number;
  dbMiB: number;
  wallS: number;
}

interface Options {
  sizes: number[];
  shapes: ShapeName[];
  timeoutS: number;
  jobmonSyncS: number;
  systems: System[];
  plot: boolean;
  suites: Suite[];
  jobmonServer: JobmonServer;
  workers: number;
  slots: number;
  realTrue: number[];
  realMix: number;
  realDistributors: Distributor[];
}

/** One row of the comparison: a DAG on one distributor, run by each system. */
interface Scenario {
  shape: ShapeName;
  size: number;
  distributor: Distributor;
}

function usage(message: string): never {
  process.stderr.write(`bench:peer: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const opts: Options = {
    sizes: [1_000, 10_000, 100_000],
    shapes: ['wide', 'chain', 'layered', 'realistic'],
    timeoutS: 900,
    jobmonSyncS: 1,
    systems: ['ours', 'jobmon'],
    plot: true,
    suites: ['dummy', 'real'],
    jobmonServer: 'gunicorn',
    workers: 4,
    slots: 8,
    realTrue: [100, 300],
    realMix: 40,
    realDistributors: ['multiprocess'],
  };
  const count = (v: string, what: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usage(`${what} takes whole numbers ≥ 1`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === '--quick') opts.sizes = [1_000, 10_000];
    else if (arg === '--sizes') {
      opts.sizes = value().split(',').map(Number);
      if (opts.sizes.some((n) => !Number.isInteger(n) || n < 10)) usage('--sizes takes integers ≥ 10, e.g. 1000,10000');
    } else if (arg === '--shapes') {
      const names = value().split(',');
      const bad = names.find((n) => !isShapeName(n));
      if (bad) usage(`--shapes: unknown shape "${bad}" (wide, chain, layered, realistic)`);
      opts.shapes = names as ShapeName[];
    } else if (arg === '--timeout') {
      opts.timeoutS = Number(value());
      if (!(opts.timeoutS > 0)) usage('--timeout takes seconds > 0');
    } else if (arg === '--jobmon-sync') {
      opts.jobmonSyncS = Number(value());
      if (!Number.isInteger(opts.jobmonSyncS) || opts.jobmonSyncS < 1) usage('--jobmon-sync takes whole seconds ≥ 1');
    } else if (arg === '--systems') {
      const names = value().split(',');
      if (names.some((n) => n !== 'ours' && n !== 'jobmon')) usage('--systems takes ours, jobmon or both');
      opts.systems = names as System[];
    } else if (arg === '--suites') {
      opts.suites = value().split(',') as Suite[];
      if (opts.suites.some((n) => n !== 'dummy' && n !== 'real')) usage('--suites takes dummy, real or both');
    } else if (arg === '--jobmon-server') {
      const v = value();
      if (v !== 'dev' && v !== 'gunicorn') usage('--jobmon-server takes dev or gunicorn');
      opts.jobmonServer = v;
    } else if (arg === '--workers') opts.workers = count(value(), '--workers');
    else if (arg === '--slots') opts.slots = count(value(), '--slots');
    else if (arg === '--real-true')
      opts.realTrue = value()
        .split(',')
        .map((v) => count(v, '--real-true'));
    else if (arg === '--real-mix') opts.realMix = count(value(), '--real-mix');
    else if (arg === '--real-distributors') {
      opts.realDistributors = value().split(',') as Distributor[];
      if (opts.realDistributors.some((d) => d !== 'multiprocess' && d !== 'sequential'))
        usage('--real-distributors takes multiprocess, sequential or both');
    } else if (arg === '--no-plot') opts.plot = false;
    else usage(`unknown option ${arg}`);
  }
  return opts;
}

/**
 * Run one side's client process against a started stack, sampling the whole system, and kill it
 * (its whole process group) if it outlives the time limit.
 */
async function runSide(
  system: System,
  stack: RunningStack,
  shapeFile: string,
  distributor: Distributor,
  timeoutS: number,
  syncIntervalS: number | null,
): Promise<{ side: SideFigures; usage: SystemUsage }> {
  const sampler = new SystemSampler();
  for (const pid of stack.pids) sampler.addRoot(pid);
  sampler.setExtraPids(() => stack.extraPids());
  sampler.setSharedPids(stack.sharedPids);
  await sampler.start();
  const common = [shapeFile, '--timeout', String(timeoutS), '--distributor', distributor];
  const args =
    system === 'ours'
      ? [path.join(projectRoot(), 'dist', 'bench', 'peer', 'our-side.js'), ...common]
      : [
          path.join(PEER_DIR, 'jobmon_side.py'),
          ...common,
          ...['--db-url', stack.env.JOBMON_PEER_DB_URL as string],
          ...(syncIntervalS === null ? [] : ['--sync-interval', String(syncIntervalS)]),
        ];
  const client = spawn(system === 'ours' ? process.execPath : JOBMON_PYTHON, args, {
    env: stack.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group, so a hung run is killed with its children
  });
  sampler.addRoot(client.pid);
  let stderrTail = '';
  let stdoutOther = '';
  client.stderr.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((r) => client.once('exit', () => r()));
  const line = new Promise<string | undefined>((resolve) => {
    const rl = readline.createInterface({ input: client.stdout });
    // Jobmon's multiprocess consumers share the client's stdout (its worker nodes print there too):
    // the figures are the line that starts with {"tasks".
    rl.on('line', (l) => {
      if (l.startsWith('{"tasks"')) resolve(l);
      else stdoutOther = (stdoutOther + l + '\n').slice(-500);
    });
    rl.once('close', () => resolve(undefined));
  });
  // The side's own limit covers bind + run; this one only catches a side that does not honour it.
  const hardLimitMs = (timeoutS + 120) * 1000;
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    if (client.pid) process.kill(-client.pid, 'SIGKILL');
  }, hardLimitMs);
  const first = await line;
  clearTimeout(timer);
  // Sampled while the client is still alive: its CPU (and that of the children it reaped) counts.
  // A client killed by the hard limit is gone by now; the last periodic sample stands for it.
  const usage = await sampler.stop();
  client.stdin.end();
  await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
  // Whatever the client left behind in its process group (a Jobmon distributor) goes with it.
  try {
    if (client.pid) process.kill(-client.pid, 'SIGKILL');
  } catch {
    /* the group is already empty */
  }
  if (first) return { side: JSON.parse(first) as SideFigures, usage };
  return {
    side: {
      tasks: 0,
      edges: 0,
      build_s: 0,
      bind_s: 0,
      first_task_started_s: null,
      run_s: hardLimitMs / 1000,
      tasks_per_s: null,
      done_tasks: null,
      status: killed ? 'timeout' : 'error',
      timed_out: killed,
      error: killed
        ? `killed after ${hardLimitMs / 1000} s`
        : `${stderrTail.trim().split('\n').slice(-3).join(' | ')} ${stdoutOther.trim()}`.trim(),
      client_cpu_s: 0,
    },
    usage,
  };
}

async function runOne(
  system: System,
  { shape, size, distributor }: Scenario,
  shapeFile: string,
  opts: Options,
  syncIntervalS: number | null,
): Promise<RunFigures> {
  const started = performance.now();
  const tag = `${distributor}_${shape}_${size}_${process.pid}`;
  const stack =
    system === 'ours'
      ? await startOurs(tag, opts.slots)
      : await startJobmon({ server: opts.jobmonServer, workers: opts.workers, slots: opts.slots, tag });
  try {
    const { side, usage } = await runSide(system, stack, shapeFile, distributor, opts.timeoutS, syncIntervalS);
    const dbBytes = await stack.dbBytes().catch(() => NaN);
    return {
      ...side,
      system,
      distributor,
      jobmonServer: system === 'jobmon' ? opts.jobmonServer : null,
      shape,
      requestedSize: size,
      syncIntervalS,
      cpuSeconds: usage.cpuSeconds,
      cpuSPerTask: side.tasks > 0 ? Math.round((usage.cpuSeconds / side.tasks) * 1e4) / 1e4 : NaN,
      peakRssMiB: usage.peakRssMiB,
      processes: usage.processes,
      dbMiB: Math.round((dbBytes / 2 ** 20) * 10) / 10,
      wallS: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await stack.close();
  }
}

const FIGURES: [keyof RunFigures, string][] = [
  ['bind_s', 'bind s'],
  ['first_task_started_s', 'first start s'],
  ['run_s', 'run s'],
  ['done_tasks', 'done tasks'],
  ['tasks_per_s', 'tasks/s'],
  ['wallS', 'wall s'],
  ['cpuSeconds', 'CPU s'],
  ['cpuSPerTask', 'CPU s/task'],
  ['peakRssMiB', 'peak RSS MiB'],
  ['dbMiB', 'DB MiB'],
];

function cell(r: RunFigures | undefined, key: keyof RunFigures): string {
  if (!r) return '—';
  if (r.timed_out && (key === 'run_s' || key === 'tasks_per_s')) return 'timeout';
  const v = r[key];
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? '—' : String(v);
}

function ratio(ours: RunFigures | undefined, jobmon: RunFigures | undefined, key: keyof RunFigures): string {
  const a = ours?.[key];
  const b = jobmon?.[key];
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0 || jobmon?.timed_out) return '';
  return `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}×`;
}

/** Rows of "ours / Jobmon (ratio)" per scenario, as a Markdown-compatible table. */
export function table(results: RunFigures[]): string {
  const scenarios: { key: string; ours?: RunFigures; jobmon?: RunFigures }[] = [];
  // Runs before the distributor was recorded were all on dummy.
  const keyOf = (r: RunFigures) => `${r.distributor ?? 'dummy'} ${r.shape} ${r.tasks}`;
  const oursBy = new Map(results.filter((r) => r.system === 'ours').map((r) => [keyOf(r), r]));
  for (const r of results.filter((x) => x.system === 'jobmon')) {
    const ours = oursBy.get(keyOf(r));
    scenarios.push({ key: `${keyOf(r)} (Jobmon sync ${r.syncIntervalS} s)`, ours, jobmon: r });
  }
  for (const [k, r] of oursBy) if (!scenarios.some((s) => s.ours === r)) scenarios.push({ key: k, ours: r });
  const header = ['scenario', ...FIGURES.map(([, label]) => `${label}: ours / Jobmon (ratio)`), 'status'];
  const rows = scenarios.map((s) => [
    s.key,
    ...FIGURES.map(([key]) => `${cell(s.ours, key)} / ${cell(s.jobmon, key)} ${ratio(s.ours, s.jobmon, key)}`.trim()),
    `${s.ours?.status ?? '—'} / ${s.jobmon?.status ?? '—'}`,
  ]);
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function recordOf(opts: Options, results: RunFigures[], jobmonDb: string) {
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    jobmon: {
      version: '3.3.0',
      server:
        opts.jobmonServer === 'gunicorn'
          ? `gunicorn, ${opts.workers} sync workers, + ${jobmonDb} (production shape)`
          : `Flask threaded server + ${jobmonDb} (local mode)`,
      distributors: [...new Set(results.map((r) => r.distributor))],
      multiprocessSlots: opts.slots,
    },
    options: opts,
    results,
  };
}

function save(record: object, name: string): void {
  const dir = path.join(projectRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), `${JSON.stringify(record, null, 2)}\n`);
}

async function main(): Promise<void> {
  const replot = process.argv.indexOf('--plot-only');
  if (replot >= 0) {
    // Redraw the PNG from a saved results file, e.g. after changing the plot.
    const file = process.argv[replot + 1] ?? usage('--plot-only needs a results JSON file');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { results: RunFigures[]; options: Options };
    console.log(table(saved.results));
    return drawPlot(saved.results, saved.options.timeoutS);
  }
  const opts = parseOptions(process.argv.slice(2));
  if (opts.systems.includes('jobmon') && !existsSync(JOBMON_PYTHON))
    usage('Jobmon is not installed: run bash bench/peer/setup-jobmon.sh first (npm run bench:peer does)');
  const work = mkdtempSync(path.join(os.tmpdir(), 'jmt-peer-shapes-'));
  const results: RunFigures[] = [];
  const jobmonDb = opts.systems.includes('jobmon') ? await jobmonDbVersion(opts.jobmonServer) : 'none';
  try {
    for (const scenario of scenarios(opts)) {
      const { shape, size, distributor } = scenario;
      const built = buildShape(shape, size);
      const file = path.join(work, `${distributor}-${shape}-${size}.json`);
      writeShape(built, file);
      for (const [system, sync] of runsOf(opts, scenario)) {
        process.stderr.write(
          `bench:peer: ${system} ${distributor} ${shape} ${built.tasks.length} tasks${sync === null ? '' : ` (sync ${sync} s)`} ...\n`,
        );
        const r = await runOne(system, scenario, file, opts, sync);
        process.stderr.write(
          `bench:peer:   ${r.status}${r.timed_out ? ' (timed out)' : ''} bind ${r.bind_s} s, run ${r.run_s} s, ` +
            `${r.tasks_per_s ?? '—'} tasks/s, CPU ${r.cpuSeconds} s, RSS ${r.peakRssMiB} MiB${r.error ? `; ${r.error}` : ''}\n`,
        );
        results.push(r);
        // Saved after every run, so a long run stopped early still leaves its figures.
        save({ ...recordOf(opts, results, jobmonDb), partial: true }, 'peer-partial.json');
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  console.log(table(results));
  const chainOurs = results.find((r) => r.system === 'ours' && r.shape === 'chain');
  if (chainOurs) console.log(`ours, 20-level chain: ${chainOurs.run_s} s (goal < 10 s)`);
  for (const size of [10_000, 100_000]) {
    for (const r of dummyRuns(results).filter(
      (x) => x.system === 'jobmon' && x.requestedSize === size && x.shape !== 'chain',
    )) {
      const ours = dummyRuns(results).find(
        (x) => x.system === 'ours' && x.shape === r.shape && x.requestedSize === size,
      );
      if (ours?.tasks_per_s && r.tasks_per_s)
        console.log(
          `${r.shape} ${size}: ours ${(ours.tasks_per_s / r.tasks_per_s).toFixed(1)}× Jobmon's tasks/s (goal ≥ 10×)`,
        );
    }
  }

  const record = recordOf(opts, results, jobmonDb);
  const stamp = record.date.replace(/[:.]/g, '-');
  save(record, `peer-${stamp}.json`);
  save(record, 'peer-latest.json');
  rmSync(path.join(projectRoot(), 'bench', 'results', 'peer-partial.json'), { force: true });
  console.log(`saved bench/results/peer-${stamp}.json`);

  if (opts.plot) await drawPlot(results, opts.timeoutS);
}

/** The scenarios in the order they run: the dummy suite, then the real one. */
function scenarios(opts: Options): Scenario[] {
  const out: Scenario[] = [];
  if (opts.suites.includes('dummy'))
    for (const shape of opts.shapes)
      for (const size of shape === 'chain' ? [opts.sizes[0]] : opts.sizes)
        out.push({ shape, size, distributor: 'dummy' });
  if (opts.suites.includes('real'))
    for (const distributor of opts.realDistributors) {
      // Sequential runs one task at a time: only the smallest flat DAG, no sleeps.
      const trues = distributor === 'sequential' ? opts.realTrue.slice(0, 1) : opts.realTrue;
      for (const size of trues) out.push({ shape: 'flat', size, distributor });
      if (distributor === 'multiprocess') out.push({ shape: 'sleepmix', size: opts.realMix, distributor });
    }
  return out;
}

/** Which systems run a scenario, with Jobmon's sync interval (null for ours). */
function runsOf(opts: Options, { shape }: Scenario): [System, number | null][] {
  const runs: [System, number | null][] = [];
  if (opts.systems.includes('ours')) runs.push(['ours', null]);
  if (opts.systems.includes('jobmon')) {
    // The chain is latency per level: Jobmon's default 30 s loop and the 1 s of its tests.
    if (shape === 'chain') runs.push(['jobmon', 30], ['jobmon', 1]);
    else runs.push(['jobmon', opts.jobmonSyncS]);
  }
  return runs;
}

const dummyRuns = (results: RunFigures[]) => results.filter((r) => (r.distributor ?? 'dummy') === 'dummy');

/** The database server Jobmon will run on, for the record ("MariaDB 10.11.19", "SQLite 3.40.1"). */
async function jobmonDbVersion(server: JobmonServer): Promise<string> {
  if (server === 'dev') return (await jobmonDatabase('sqlite://')).version;
  const v = (await jobmonDatabase(`${MARIADB_URL}/mysql`)).version;
  return v.includes('MariaDB') ? `MariaDB ${v.split('-')[0]}` : `MySQL ${v}`;
}

/** The PNG of tasks/s against DAG size (timed-out Jobmon runs as upper bounds). */
async function drawPlot(results: RunFigures[], timeoutS: number): Promise<void> {
  const points: PlotPoint[] = dummyRuns(results)
    .filter((r) => r.shape !== 'chain' && r.tasks > 0 && (r.tasks_per_s || r.timed_out))
    .map((r) => ({
      system: r.system,
      shape: r.shape,
      tasks: r.tasks,
      // Not finished within the limit: the whole DAG over the limit bounds its bind + run rate.
      tasksPerSecond: r.tasks_per_s ?? r.tasks / timeoutS,
      timedOut: !r.tasks_per_s,
    }));
  if (points.length > 0) {
    const png = path.join(projectRoot(), 'docs', 'img', 'peer-tasks-per-second.png');
    mkdirSync(path.dirname(png), { recursive: true });
    await renderPng(plotSvg(points, 'Tasks per second: ours vs IHME Jobmon (dummy distributor)'), png);
    console.log('saved docs/img/peer-tasks-per-second.png');
  }
}

main().catch((err) => {
  console.error(`bench:peer: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
