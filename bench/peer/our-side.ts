/**
 * Our side of `npm run bench:peer`: bind a shape (bench/peer/shapes.ts JSON) through our TS client
 * against a running stack (API + worker + Temporal, from the environment: DATABASE_URL, JMT_API_URL,
 * TEMPORAL_ADDRESS, …), run it on the given distributor (dummy, sequential or multiprocess; the slots
 * of multiprocess come from the services' environment) and print one JSON line with the same
 * figures as bench/peer/jobmon_side.py. Runs as its own process so its CPU and memory are measured
 * like the Jobmon client's; after the JSON line it waits for stdin to close.
 *
 *   node dist/bench/peer/our-side.js shape.json --timeout 900 --distributor dummy
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Tool, type Task } from '../../src/client';
import { loadConfig } from '../../src/config';
import type { Shape } from './shapes';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Poll until some task instance has started or finished; resolves with the time seen. */
async function firstStart(db: pg.Client, stopped: () => boolean): Promise<number | undefined> {
  while (!stopped()) {
    const r = await db.query(`select 1 from task_instance where status in ('R','D') limit 1`);
    if (r.rowCount) return performance.now();
    await new Promise((res) => setTimeout(res, 100));
  }
  return undefined;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  const timeoutS = Number(option('--timeout', '900'));
  const distributor = option('--distributor', 'dummy');
  const shape = JSON.parse(readFileSync(file, 'utf8')) as Shape;
  const config = loadConfig();
  const started = performance.now();

  const tool = new Tool(`peer-${shape.name}`, { config, stderr: { write: () => true } });
  const templates = shape.templates.map((t) =>
    tool.getTaskTemplate({ templateName: t.name, commandTemplate: t.command, nodeArgs: t.nodeArgs }),
  );
  const tasks: Task[] = [];
  for (const spec of shape.tasks)
    tasks.push(
      templates[spec.template].createTask({
        ...spec.nodeArgs,
        upstreamTasks: spec.upstream.map((i) => tasks[i]),
        maxAttempts: 1,
      }),
    );
  const wf = tool.createWorkflow({
    workflowArgs: `peer-${shape.name}-${tasks.length}-${process.pid}-${Date.now()}`,
    name: `peer-${shape.name}`,
    defaultClusterName: distributor,
    defaultComputeResources: { queue: 'null.q' },
  });
  wf.addTasks(tasks);
  const buildS = (performance.now() - started) / 1000;

  const db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  const bindStart = performance.now();
  let status = '?';
  let timedOut = false;
  let error = '';
  let bindEnd = bindStart;
  let ended = bindStart;
  let first: number | undefined;
  try {
    await wf.bind();
    bindEnd = performance.now();
    let done = false;
    const watcher = firstStart(db, () => done).catch(() => undefined);
    const remaining = Math.max(1, timeoutS - buildS - (bindEnd - bindStart) / 1000);
    try {
      status = await wf.run({ progress: false, pollIntervalMs: 200, secondsUntilTimeout: remaining });
    } finally {
      ended = performance.now();
      done = true;
      first = await watcher;
    }
  } catch (err) {
    ended = performance.now();
    const message = err instanceof Error ? err.message : String(err);
    timedOut = /time(d)? ?out/i.test(message);
    error = message.slice(0, 300);
  }
  const doneCount = await db.query<{ n: string }>(`select count(*) as n from task where status = 'D'`);
  await db.end();
  const runS = (ended - bindEnd) / 1000;
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      tasks: tasks.length,
      edges: shape.edges,
      build_s: round(buildS),
      bind_s: round((bindEnd - bindStart) / 1000),
      first_task_started_s: first === undefined ? null : round((first - bindEnd) / 1000),
      run_s: round(runS),
      tasks_per_s: status === 'D' && runS > 0 ? Math.round((tasks.length / runS) * 100) / 100 : null,
      done_tasks: Number(doneCount.rows[0].n),
      status,
      timed_out: timedOut,
      error,
      client_cpu_s: round((cpu.user + cpu.system) / 1e6, 2),
    })}\n`,
  );
  // Stay alive until the orchestrator has taken its last /proc sample, then exit.
  process.stdin.resume();
  await new Promise((r) => process.stdin.once('end', r));
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`our-side: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
