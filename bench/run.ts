/**
 * `npm run bench`: orchestration figures on this machine, printed as a table and saved as JSON
 * under bench/results/. Not a test: nothing here asserts; the figures are compared by people.
 *
 * Scenarios (each on a fresh database, one Temporal dev server with a WAL SQLite file, and one
 * services process = API + worker, exactly as `jmt up` runs them):
 *   layered-100k  1 → 100 → 10,000 → 89,798 → 100 (fan-in) → 1 on the dummy distributor
 *   chain-20      20 levels of one no-op task each (latency per DAG level), dummy
 *   true-2000     2,000 tasks of `true` through the wrapper, multiprocess
 *   per-task      300 tasks of `true`, multiprocess (local executor), with the per-task cost of the real path
 *                 (bench/per-task.ts: wrapper CPU by process accounting against a bare `node -e 0`
 *                 in the same run, central CPU per task, tasks/s, wrapper memory; needs root + acct)
 *   per-task-wrapper  the same with a wrapper process per task (JMT_LOCAL_EXECUTOR=0), as on Slurm
 * Figures: bind s, run s, tasks/s, the largest history (events, bytes) of any Temporal execution
 * of the run, the most pending activities seen, peak RSS of the services process and of Temporal.
 *
 *   node dist/bench/run.js [--only layered-100k,chain-20,true-2000,per-task,per-task-wrapper] [--per-task-n 300]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tool, type Task } from '../src/client';
import { projectRoot } from '../src/config';
import { temporalWorkflowId } from '../src/temporal/ids';
import { startStack } from './environment';
import { latestSlurmRatio, PER_TASK_COLUMNS, perTaskScenario, type PerTaskFigures } from './per-task';
import { peakRssMiB, round } from './support';

interface Figures {
  scenario: string;
  tasks: number;
  edges: number;
  bindSeconds: number;
  runSeconds: number;
  tasksPerSecond: number;
  finalStatus: string;
  executions: number;
  maxHistoryEvents: number;
  maxHistoryBytes: number;
  maxPendingActivities: number;
  servicesPeakRssMiB: number;
  temporalPeakRssMiB: number;
}

interface Shape {
  tool: Tool;
  tasks: Task[];
  edges: number;
}

function layered(tool: Tool): Shape {
  const noop = (level: number) =>
    tool.getTaskTemplate({ templateName: `level${level}`, commandTemplate: `true {i}`, nodeArgs: ['i'] });
  const sizes = [1, 100, 10_000, 89_798, 100, 1];
  const levels: Task[][] = [];
  let edges = 0;
  sizes.forEach((size, level) => {
    const tt = noop(level);
    const prev = levels[level - 1];
    const tasks: Task[] = [];
    for (let i = 0; i < size; i++) {
      let upstream: Task[] = [];
      if (prev) {
        if (size >= prev.length) upstream = [prev[i % prev.length]];
        else {
          // Fan-in: each task gathers an equal share of the level above.
          const share = Math.ceil(prev.length / size);
          upstream = prev.slice(i * share, Math.min(prev.length, (i + 1) * share));
        }
      }
      edges += upstream.length;
      tasks.push(tt.createTask({ i, upstreamTasks: upstream }));
    }
    levels.push(tasks);
  });
  return { tool, tasks: levels.flat(), edges };
}

function chain(tool: Tool, length: number): Shape {
  const tt = tool.getTaskTemplate({ templateName: 'step', commandTemplate: 'true {i}', nodeArgs: ['i'] });
  const tasks: Task[] = [];
  for (let i = 0; i < length; i++) tasks.push(tt.createTask({ i, upstreamTasks: i > 0 ? [tasks[i - 1]] : [] }));
  return { tool, tasks, edges: length - 1 };
}

function wide(tool: Tool, n: number): Shape {
  const tt = tool.getTaskTemplate({ templateName: 'true', commandTemplate: 'true {i}', nodeArgs: ['i'] });
  return { tool, tasks: Array.from({ length: n }, (_, i) => tt.createTask({ i })), edges: 0 };
}

async function scenario(name: string, cluster: string, build: (tool: Tool) => Shape): Promise<Figures> {
  const env = await startStack(name);
  try {
    const tool = new Tool(`bench-${name}`, { config: env.config, stderr: { write: () => true } });
    const shape = build(tool);
    const wf = tool.createWorkflow({
      workflowArgs: `bench-${name}`,
      defaultClusterName: cluster,
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(shape.tasks);
    const bindStart = performance.now();
    const workflowId = await wf.bind();
    const bindSeconds = (performance.now() - bindStart) / 1000;

    const temporalId = temporalWorkflowId(env.config, workflowId);
    let maxPending = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const d = await env.client.workflow.getHandle(temporalId).describe();
          maxPending = Math.max(maxPending, d.raw.pendingActivities?.length ?? 0);
        } catch {
          /* not started yet */
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const runStart = performance.now();
    const status = await wf.run({ progress: false, pollIntervalMs: 200 });
    const runSeconds = (performance.now() - runStart) / 1000;
    sampling = false;
    await sampler;

    let executions = 0;
    let maxEvents = 0;
    let maxBytes = 0;
    for await (const e of env.client.workflow.list({ query: `WorkflowId="${temporalId}"` })) {
      executions += 1;
      maxEvents = Math.max(maxEvents, e.historyLength);
      maxBytes = Math.max(maxBytes, e.historySize ?? 0);
    }
    return {
      scenario: name,
      tasks: shape.tasks.length,
      edges: shape.edges,
      bindSeconds: round(bindSeconds),
      runSeconds: round(runSeconds),
      tasksPerSecond: Math.round(shape.tasks.length / runSeconds),
      finalStatus: status,
      executions,
      maxHistoryEvents: maxEvents,
      maxHistoryBytes: maxBytes,
      maxPendingActivities: maxPending,
      servicesPeakRssMiB: peakRssMiB(env.services.pid),
      temporalPeakRssMiB: peakRssMiB(env.temporal.pid),
    };
  } finally {
    await env.close();
  }
}

const SCENARIOS: Record<string, () => Promise<Figures>> = {
  'chain-20': () => scenario('chain-20', 'dummy', (tool) => chain(tool, 20)),
  'true-2000': () => scenario('true-2000', 'multiprocess', (tool) => wide(tool, 2_000)),
  'layered-100k': () => scenario('layered-100k', 'dummy', layered),
};
const RESULTS_DIR = path.join(projectRoot(), 'bench', 'results');

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  console.log(header.map((c, i) => c.padStart(widths[i])).join('  '));
  for (const r of rows) console.log(r.map((v, i) => v.padStart(widths[i])).join('  '));
}

/** The per-task table of issue 16, with the Slurm ratio bench/slurm.ts last saved. */
function printPerTask(rows: PerTaskFigures[]): void {
  const slurm = latestSlurmRatio(RESULTS_DIR);
  printTable(
    [...PER_TASK_COLUMNS.map(([, label]) => label), 'Slurm/hand array'],
    rows.map((f) => [
      ...PER_TASK_COLUMNS.map(([key]) => String(f[key])),
      slurm ? `${slurm.ratio} (${slurm.file})` : '—',
    ]),
  );
  for (const f of rows) {
    console.log(
      `${f.scenario}: wrapper CPU ${f.wrapperCpuS} s = ${f.wrapperOverBareNode} × bare node (goal ≤ 1.5); ` +
        `central ${f.centralMsPerTask} ms (goal ≤ 5); ${f.tasksPerSecond} tasks/s (goal ≥ 30); ` +
        `wrapper peak RSS ${f.wrapperPeakRssMiB} MiB, private ${f.wrapperPrivateMiB} MiB (goal ≤ 30); ` +
        `load average ${f.loadAverage.join(' → ')}, cores busy ${Math.round(f.machineBusyShare * 100)} %`,
    );
  }
}

async function main(): Promise<void> {
  const onlyArg = process.argv.indexOf('--only');
  const names =
    onlyArg >= 0 ? process.argv[onlyArg + 1].split(',') : [...Object.keys(SCENARIOS), 'per-task', 'per-task-wrapper'];
  const results: Figures[] = [];
  const perTask: PerTaskFigures[] = [];
  for (const name of names) {
    if (name === 'per-task' || name === 'per-task-wrapper') {
      process.stderr.write(`bench: ${name} ...\n`);
      const n = Number(argValue('--per-task-n') ?? 300);
      const acct = path.join(os.tmpdir(), `jmt-bench-${process.pid}.acct`);
      perTask.push(await perTaskScenario(name, n, acct, name === 'per-task'));
      continue;
    }
    const run = SCENARIOS[name];
    if (!run) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    process.stderr.write(`bench: ${name} ...\n`);
    results.push(await run());
  }
  const columns: (keyof Figures)[] = [
    'scenario',
    'tasks',
    'bindSeconds',
    'runSeconds',
    'tasksPerSecond',
    'finalStatus',
    'executions',
    'maxHistoryEvents',
    'maxHistoryBytes',
    'maxPendingActivities',
    'servicesPeakRssMiB',
    'temporalPeakRssMiB',
  ];
  if (results.length)
    printTable(
      columns,
      results.map((r) => columns.map((c) => String(r[c]))),
    );
  if (perTask.length) printPerTask(perTask);
  const layeredResult = results.find((r) => r.scenario === 'layered-100k');
  if (layeredResult) {
    console.log(
      `ratios: history events / 51,200 hard limit = ${(layeredResult.maxHistoryEvents / 51_200).toFixed(3)}; ` +
        `pending activities / 2,000 cap = ${(layeredResult.maxPendingActivities / 2_000).toFixed(3)}; ` +
        `bind s / 10 s goal = ${(layeredResult.bindSeconds / 10).toFixed(2)}`,
    );
  }
  const chainResult = results.find((r) => r.scenario === 'chain-20');
  if (chainResult) console.log(`latency per DAG level (chain-20): ${(chainResult.runSeconds / 20).toFixed(3)} s`);
  const dir = RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  const record = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    results,
    ...(perTask.length ? { perTask } : {}),
  };
  const stamp = record.date.replace(/[:.]/g, '-');
  // A per-task-only run (`--only per-task`) is saved apart, so latest.json keeps the full set.
  const prefix = results.length ? 'bench' : 'per-task';
  writeFileSync(path.join(dir, `${prefix}-${stamp}.json`), `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(
    path.join(dir, results.length ? 'latest.json' : 'per-task-latest.json'),
    `${JSON.stringify(record, null, 2)}\n`,
  );
  console.log(`saved bench/results/${prefix}-${stamp}.json`);
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
