/**
 * `npm run bench:million`: 1,000,000 tasks on the dummy distributor, this project alone. The DAG
 * is bench/run.ts's layered-100k with every level scaled ×10: 1 → 1,000 → 100,000 → 897,998 →
 * 1,000 (fan-in) → 1, 1,897,996 edges. Before it, a 20-level chain of no-op tasks on the same
 * stack gives the latency per DAG level.
 *
 * Figures: bind s, run s, tasks/s, every Temporal execution of the run (continue-as-new included)
 * with its history length counted from the history (the largest must stay far below Temporal's
 * 51,200 limit; the project's own bound is 10,000), the most pending activities seen, peak memory
 * of each process (this client, services = API + worker, the Temporal dev server, the Postgres
 * backends of the database), the database size. Saved to bench/results/million-<time>.json and
 * million-latest.json. Nothing asserts: targets are read by people.
 *
 *   node --max-old-space-size=8192 dist/bench/million.js [--tasks N]   (N default 1,000,000)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient, Tool, type Task } from '../src/client';
import { projectRoot } from '../src/config';
import { temporalWorkflowId } from '../src/temporal/ids';
import {
  adminClient,
  executionHistories,
  layeredTasks,
  memoryMiB,
  postgresBackendsMiB,
  startStack,
  type BenchStack,
} from './environment';
import { round } from './support';

const log = (line: string) => process.stderr.write(`bench:million ${new Date().toISOString().slice(11, 19)} ${line}\n`);

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1_000) {
    console.error(`${name} must be a whole number ≥ 1000`);
    process.exit(2);
  }
  return v;
}

function tool(stack: BenchStack, name: string): Tool {
  // A million-task commit runs for minutes on a loaded box: give every request half an hour.
  const api = ApiClient.fromConfig(stack.config, { timeoutMs: 30 * 60_000 });
  return new Tool(name, { config: stack.config, api, stderr: { write: () => true } });
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

async function main(): Promise<void> {
  const total = argValue('--tasks', 1_000_000);
  const scale = Math.max(1, Math.round(total / 100_000));
  const stack = await startStack('million', { servicesNodeArgs: ['--max-old-space-size=12288'] });
  const admin = await adminClient(stack.databaseUrl);
  let pgPeak = { backends: 0, totalMiB: 0, maxMiB: 0 };
  let servicesPeakRss = 0;
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
    let mark = performance.now();
    const shape = layeredTasks(t, scale, total);
    const wf = t.createWorkflow({
      workflowArgs: `bench-million-${total}`,
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(shape.tasks);
    const buildSeconds = (performance.now() - mark) / 1000;
    log(`built ${shape.tasks.length} tasks, ${shape.edges} edges in ${round(buildSeconds)} s; binding ...`);

    mark = performance.now();
    const workflowId = await wf.bind();
    const bindSeconds = (performance.now() - mark) / 1000;
    log(`bound workflow ${workflowId} in ${round(bindSeconds)} s; running ...`);

    temporalId = temporalWorkflowId(stack.config, workflowId);
    mark = performance.now();
    const status = await wf.run({ progress: false, pollIntervalMs: 2_000 });
    const runSeconds = (performance.now() - mark) / 1000;
    log(`run ended ${status} in ${round(runSeconds)} s`);
    sampling = false;
    await sampler;

    const executions = await executionHistories(stack.client, temporalId);
    const { rows } = await admin.query<{ bytes: string }>('select pg_database_size($1) as bytes', [stack.databaseName]);
    const result = {
      tasks: shape.tasks.length,
      edges: shape.edges,
      shape: `1 → ${100 * scale} → ${10_000 * scale} → ${total - 2 - 10_200 * scale} → ${100 * scale} → 1`,
      finalStatus: status,
      buildSeconds: round(buildSeconds),
      bindSeconds: round(bindSeconds),
      runSeconds: round(runSeconds),
      tasksPerSecond: Math.round(shape.tasks.length / runSeconds),
      executions: executions.length,
      maxHistoryEvents: Math.max(...executions.map((e) => e.events)),
      historyEventsPerExecution: executions.map((e) => e.events),
      maxPendingActivities: maxPending,
      chain20: chain,
      memoryMiB: {
        client: memoryMiB(process.pid, 'VmHWM'),
        services: Math.max(servicesPeakRss, memoryMiB(stack.services.pid, 'VmHWM') || 0),
        temporal: Math.max(temporalPeakRss, memoryMiB(stack.temporal.pid, 'VmHWM') || 0),
        postgresBackendsPeakTotal: pgPeak.totalMiB,
        postgresBackendsPeakOne: pgPeak.maxMiB,
        postgresBackendsAtPeak: pgPeak.backends,
      },
      databaseMiB: Math.round(Number(rows[0].bytes) / 2 ** 20),
      load: os.loadavg().map((l) => round(l, 1)),
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `million: bind ${result.bindSeconds} s, run ${result.runSeconds} s (${result.tasksPerSecond} tasks/s), ` +
        `${result.executions} executions, largest history ${result.maxHistoryEvents} events (limit 10,000), ` +
        `pending activities ≤ ${result.maxPendingActivities}; chain-20 ${chain.perLevel} s per level`,
    );
    const dir = path.join(projectRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const record = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      result,
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
