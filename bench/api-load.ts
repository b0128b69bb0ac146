/**
 * `npm run bench:api`: the observer API under load. Binds and runs bench/run.ts's layered
 * 100,000-task DAG on the dummy distributor, adds 5,000 error-log rows (a dummy run has no errors,
 * and error groups should have something to group), then points 50 concurrent clients (autocannon,
 * loopback, keep-alive) at each endpoint in turn: workflow status, a page of the task list (pages
 * rotate over the whole workflow), error groups, progress (ETA and risks). Prints p50/p95/p99
 * latency, requests per second and errors per endpoint and saves bench/results/api-load-<time>.json
 * and api-load-latest.json. Goal (issue "Performance ..."): status p95 < 50 ms at 100,000 tasks.
 *
 *   node dist/bench/api-load.js [--duration S] [--connections N] [--tasks N] [--vacuum]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ApiClient, Tool } from '../src/client';
import { projectRoot } from '../src/config';
import { layeredTasks, startStack } from './environment';
import { round } from './support';
import { load, type EndpointFigures } from './observer-load';

const log = (line: string) => process.stderr.write(`bench:api ${new Date().toISOString().slice(11, 19)} ${line}\n`);

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name} must be a whole number ≥ 1`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const duration = option('--duration', 10);
  const connections = option('--connections', 50);
  const total = option('--tasks', 100_000);
  const stack = await startStack('api-load');
  try {
    const api = ApiClient.fromConfig(stack.config, { timeoutMs: 30 * 60_000 });
    const tool = new Tool('bench-api-load', { config: stack.config, api, stderr: { write: () => true } });
    const shape = layeredTasks(tool, Math.max(1, Math.round(total / 100_000)), total);
    const wf = tool.createWorkflow({
      workflowArgs: `bench-api-load-${total}`,
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(shape.tasks);
    log(`binding ${shape.tasks.length} tasks ...`);
    const id = await wf.bind();
    log(`running workflow ${id} ...`);
    const status = await wf.run({ progress: false, pollIntervalMs: 1_000 });
    log(`run ended ${status}; adding 5,000 error-log rows`);
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `insert into task_instance_error_log (task_instance_id, error_time, description)
         select ti.id, now() - (ti.id % 3600) * interval '1 second',
                case ti.id % 3 when 0 then 'command exited with code 1\nstderr (last lines):\nFileNotFoundError: [Errno 2] No such file: ''/data/loc_' || ti.task_id || '.csv'''
                               when 1 then 'command exited with code 137\nslurm: OUT_OF_MEMORY (oom-kill) on node-' || (ti.id % 40)
                               else 'command exited with code 1\nstderr (last lines):\nModuleNotFoundError: No module named ''scipy''' end
           from task_instance ti where ti.workflow_id = $1 order by ti.id limit 5000`,
        [id],
      );
      // `--vacuum`: what autovacuum does on a default server soon after a big run (this box's CI
      // configuration turns autovacuum off: no statistics, no visibility map, bloated heap).
      await db.query(process.argv.includes('--vacuum') ? 'vacuum analyze' : 'analyze');
    } finally {
      await db.end();
    }

    const base = `${stack.config.apiUrl}/api/v1/workflows/${id}`;
    let page = 0;
    const endpoints: [string, () => string][] = [
      ['status', () => `/api/v1/workflows/${id}/status`],
      [
        'tasks (page of 100)',
        () => `/api/v1/workflows/${id}/tasks?limit=100&offset=${(page++ % Math.floor(total / 100)) * 100}`,
      ],
      ['error-groups', () => `/api/v1/workflows/${id}/error-groups`],
      ['progress', () => `/api/v1/workflows/${id}/progress`],
    ];
    const figures: EndpointFigures[] = [];
    for (const [name, paths] of endpoints) {
      const warm = await fetch(`${stack.config.apiUrl}${paths()}`);
      if (!warm.ok) throw new Error(`${name}: HTTP ${warm.status} ${await warm.text()}`);
      log(`${name}: ${connections} clients for ${duration} s ...`);
      figures.push(await load(name, base, paths, connections, duration));
    }
    const head = ['endpoint', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'bytes'];
    const rows = figures.map((f) => [
      f.endpoint,
      String(f.requestsPerSecond),
      String(f.p50Ms),
      String(f.p95Ms),
      String(f.p99Ms),
      String(f.maxMs),
      String(f.errors),
      String(f.meanBytes),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    console.log(head.map((h, i) => h.padStart(widths[i])).join('  '));
    for (const r of rows) console.log(r.map((v, i) => v.padStart(widths[i])).join('  '));
    const statusFigures = figures[0];
    console.log(`status p95 / 50 ms goal = ${(statusFigures.p95Ms / 50).toFixed(2)}`);

    const record = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      load: os.loadavg().map((l) => round(l, 1)),
      tasks: shape.tasks.length,
      finalStatus: status,
      connections,
      durationSeconds: duration,
      vacuumed: process.argv.includes('--vacuum'),
      endpoints: figures,
    };
    const dir = path.join(projectRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const stamp = record.date.replace(/[:.]/g, '-');
    writeFileSync(path.join(dir, `api-load-${stamp}.json`), `${JSON.stringify(record, null, 2)}\n`);
    writeFileSync(path.join(dir, 'api-load-latest.json'), `${JSON.stringify(record, null, 2)}\n`);
    console.log(`saved bench/results/api-load-${stamp}.json`);
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  console.error(`bench:api: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
