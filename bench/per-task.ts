/**
 * The per-task cost of the real execution path (issue 16): N tasks of `true` on the multiprocess
 * distributor, every task through the local executor (default) or a worker-node wrapper process
 * per task (as on Slurm), measured as
 *
 * - wrapper CPU per task, by process accounting, as a ratio to a bare `node -e 0` started over and
 *   over during the same run (so both see the same load on a shared machine);
 * - central CPU per task: the services process (API + worker), the Temporal dev server and the
 *   Postgres backends of the run's database, from /proc/<pid>/stat;
 * - tasks/s; the wrapper's peak (VmHWM) and private (RssAnon) memory, polled from /proc.
 *
 * Run by bench/run.ts (`--only per-task`); the figures go into its JSON.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Tool } from '../src/client';
import { childPids, CpuWindow, memoryKiB, ProcessAccounting, type AcctRecord } from './accounting';
import { startStack } from './environment';
import { round } from './support';

export interface PerTaskFigures {
  scenario: string;
  tasks: number;
  finalStatus: string;
  runSeconds: number;
  tasksPerSecond: number;
  /** Mean CPU seconds of one wrapper (per task, for a long-lived executor: its CPU / tasks). */
  wrapperCpuS: number;
  /** Mean CPU seconds of one bare `node -e 0` in the same window. */
  bareNodeCpuS: number;
  bareNodeSamples: number;
  wrapperOverBareNode: number;
  /** Mean elapsed seconds of one wrapper process (per-task wrappers only). */
  wrapperWallS: number | null;
  /** Mean CPU of the task's own `bash -c true`, not overhead but shown for scale. */
  commandCpuS: number;
  centralMsPerTask: number;
  servicesMsPerTask: number;
  temporalMsPerTask: number;
  postgresMsPerTask: number;
  /** Largest VmHWM / RssAnon seen of any wrapper (or executor) process, MiB. */
  wrapperPeakRssMiB: number;
  wrapperPrivateMiB: number;
  /** Per-task processes counted; long-lived executors counted. */
  wrapperProcesses: number;
  executors: number;
  /** How loaded the machine was: load average at start/end, share of all cores busy. */
  loadAverage: [number, number];
  machineBusyShare: number;
  /** `sa -a -i -j` of the accounting file, machine-wide (other users' commands included). */
  saSummary: string;
}

/** Jiffies busy and total of all CPUs (first line of /proc/stat). */
function cpuJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - (f[4] ?? 0), total };
}

function isServicesFork(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('services-main');
  } catch {
    return true;
  }
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** `node -e 0` one after another until `stop()`: the floor a wrapper in Node cannot go below. */
function bareNodeLoop(): { pids: Set<number>; stop: () => Promise<void> } {
  const pids = new Set<number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      if (child.pid) pids.add(child.pid);
      await new Promise((r) => child.once('exit', r));
      // Paced so the baseline adds little load of its own.
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    pids,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * `executor`: the default local path (one long-lived executor runs every task); false: a wrapper
 * process per task (JMT_LOCAL_EXECUTOR=0), the path every Slurm array task takes.
 */
export async function perTaskScenario(
  name: string,
  n: number,
  acctFile: string,
  executor = true,
): Promise<PerTaskFigures> {
  // JMT_BENCH_PROFILE_DIR=dir: the services process writes a CPU profile there (node --cpu-prof).
  const profileDir = process.env.JMT_BENCH_PROFILE_DIR;
  const env = await startStack(name, {
    servicesNodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    env: executor ? {} : { JMT_LOCAL_EXECUTOR: '0' },
  });
  const servicesPid = env.services.pid!;
  const temporalPid = env.temporal.pid!;
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    const tool = new Tool(`bench-${name}`, { config: env.config, stderr: { write: () => true } });
    const tt = tool.getTaskTemplate({ templateName: 'true', commandTemplate: 'true {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: `bench-${name}`,
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(Array.from({ length: n }, (_, i) => tt.createTask({ i })));
    await wf.bind();

    const accounting = ProcessAccounting.start(acctFile);
    if (typeof accounting === 'string') throw new Error(accounting);
    const services = new CpuWindow();
    const temporal = new CpuWindow();
    const postgres = new CpuWindow();
    const children = new CpuWindow();
    const memory = new Map<number, { hwm: number; anon: number }>();
    let backends: number[] = [];
    const readBackends = async () => {
      const r = await db.query<{ pid: number }>(
        'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      backends = r.rows.map((row) => row.pid);
    };
    await readBackends();
    const sampleAll = () => {
      services.sample([servicesPid]);
      temporal.sample([temporalPid]);
      postgres.sample(backends);
      const kids = childPids(servicesPid);
      children.sample(kids);
      for (const pid of kids) {
        const m = memoryKiB(pid);
        // Skip zombies (no memory lines) and a fork of the services process not yet exec'd.
        if (!m || !Number.isFinite(m.hwm) || isServicesFork(pid)) continue;
        const seen = memory.get(pid);
        memory.set(pid, { hwm: Math.max(m.hwm, seen?.hwm ?? 0), anon: Math.max(m.anon, seen?.anon ?? 0) });
      }
    };
    sampleAll();
    for (const w of [services, temporal, postgres, children]) w.open();
    const jiffies0 = cpuJiffies();
    const load0 = os.loadavg()[0];
    let sampling = true;
    const sampler = (async () => {
      let tick = 0;
      while (sampling) {
        sampleAll();
        if (++tick % 20 === 0) await readBackends().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const bare = bareNodeLoop();

    const runStart = performance.now();
    const status = await wf.run({ progress: false, pollIntervalMs: 200 });
    const runSeconds = (performance.now() - runStart) / 1000;
    await bare.stop();
    sampling = false;
    await sampler;
    await readBackends();
    sampleAll();
    const jiffies1 = cpuJiffies();
    const load1 = os.loadavg()[0];
    const { records, sa } = accounting.stop();

    return summarise({
      name,
      n,
      status,
      runSeconds,
      records,
      sa,
      servicesPid,
      barePids: bare.pids,
      windows: { services, temporal, postgres, children },
      memory,
      load: [load0, load1],
      busyShare: (jiffies1.busy - jiffies0.busy) / (jiffies1.total - jiffies0.total),
    });
  } finally {
    await db.end();
    await env.close();
  }
}

interface Collected {
  name: string;
  n: number;
  status: string;
  runSeconds: number;
  records: AcctRecord[];
  sa: string;
  servicesPid: number;
  barePids: Set<number>;
  windows: Record<'services' | 'temporal' | 'postgres' | 'children', CpuWindow>;
  memory: Map<number, { hwm: number; anon: number }>;
  load: [number, number];
  busyShare: number;
}

function summarise(c: Collected): PerTaskFigures {
  const bare = c.records.filter((r) => c.barePids.has(r.pid) && r.comm === 'node');
  // Per-task wrappers: node processes the services process started that exited in the window.
  const wrappers = c.records.filter((r) => r.ppid === c.servicesPid && r.comm === 'node');
  const wrapperPids = new Set(wrappers.map((r) => r.pid));
  // A long-lived executor (still running at the end) is not in the accounting file: /proc has it.
  const { cpuS: executorCpuS, pids: executorPids } = c.windows.children.except(wrapperPids);
  const executors = executorPids.length;
  const commands = c.records.filter(
    (r) => r.comm === 'bash' && (wrapperPids.has(r.ppid) || executorPids.includes(r.ppid)),
  );
  const wrapperCpuTotal = wrappers.reduce((s, r) => s + r.cpuS, 0) + executorCpuS;
  const wrapperCpuS = wrapperCpuTotal / c.n;
  const bareNodeCpuS = mean(bare.map((r) => r.cpuS));
  const ms = (s: number) => round((s * 1000) / c.n, 2);
  const central = c.windows.services.cpuS + c.windows.temporal.cpuS + c.windows.postgres.cpuS;
  const mem = [...c.memory.values()];
  return {
    scenario: c.name,
    tasks: c.n,
    finalStatus: c.status,
    runSeconds: round(c.runSeconds),
    tasksPerSecond: round(c.n / c.runSeconds, 1),
    wrapperCpuS: round(wrapperCpuS, 4),
    bareNodeCpuS: round(bareNodeCpuS, 4),
    bareNodeSamples: bare.length,
    wrapperOverBareNode: round(wrapperCpuS / bareNodeCpuS),
    wrapperWallS: wrappers.length ? round(mean(wrappers.map((r) => r.elapsedS)), 3) : null,
    commandCpuS: round(mean(commands.map((r) => r.cpuS)), 4),
    centralMsPerTask: ms(central),
    servicesMsPerTask: ms(c.windows.services.cpuS),
    temporalMsPerTask: ms(c.windows.temporal.cpuS),
    postgresMsPerTask: ms(c.windows.postgres.cpuS),
    wrapperPeakRssMiB: round(Math.max(0, ...mem.map((m) => m.hwm)) / 1024, 1),
    wrapperPrivateMiB: round(Math.max(0, ...mem.map((m) => m.anon)) / 1024, 1),
    wrapperProcesses: wrappers.length,
    executors,
    loadAverage: [round(c.load[0]), round(c.load[1])],
    machineBusyShare: round(c.busyShare),
    saSummary: c.sa,
  };
}

export const PER_TASK_COLUMNS: [keyof PerTaskFigures, string][] = [
  ['scenario', 'scenario'],
  ['tasksPerSecond', 'tasks/s'],
  ['wrapperCpuS', 'wrapper CPU s'],
  ['bareNodeCpuS', 'bare node s'],
  ['wrapperOverBareNode', 'wrapper/bare'],
  ['centralMsPerTask', 'central ms/task'],
  ['servicesMsPerTask', 'services'],
  ['temporalMsPerTask', 'temporal'],
  ['postgresMsPerTask', 'postgres'],
  ['wrapperPeakRssMiB', 'wrapper HWM MiB'],
  ['wrapperPrivateMiB', 'private MiB'],
];

/** The project's Slurm-vs-hand-array ratio from bench/slurm.ts's latest results, when there are any. */
export function latestSlurmRatio(resultsDir: string): { ratio: number; file: string } | undefined {
  for (const file of ['slurm-latest.json']) {
    try {
      const d = JSON.parse(readFileSync(path.join(resultsDir, file), 'utf8')) as { ratio?: number };
      if (typeof d.ratio === 'number') return { ratio: d.ratio, file };
    } catch {
      // none yet
    }
  }
  return undefined;
}
