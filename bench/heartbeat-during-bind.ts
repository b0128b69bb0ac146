/**
 * Heartbeat latency while a 100,000-task bind is uploaded and committed in the same API process
 * (issue #13: big bodies must not starve heartbeats). A benchmark, not a test: it asserts nothing,
 * prints p50/p99/max per phase and saves bench/results/heartbeat-during-bind-latest.json.
 *
 * One API process (this one; Temporal is not needed for binding or heartbeats), a fresh database.
 * A running task instance heartbeats every 20 ms on an open-loop schedule; latency counts from
 * when the heartbeat was due, so a blocked event loop shows as late answers, as a wrapper would
 * see it. Chunk bodies are serialised before the clock starts (the client's work is not ours).
 *
 *   npm run bench:heartbeat-bind                 # 100,000 tasks
 *   node dist/bench/heartbeat-during-bind.js --tasks 20000
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { startApiServer } from '../src/api/main';
import { localAuth } from '../src/api/auth';
import { loadConfig, projectRoot } from '../src/config';
import { MAX_TASKS_PER_CHUNK } from '../src/domain/bind-spec';
import { createDb, migrate } from '../src/sql/db';
import pg from 'pg';
import { adminClient, databaseBackendsCpuS } from './environment';
import { freshDatabase, round } from './support';

const argv = process.argv.slice(2);
const TASKS = Number(argv[argv.indexOf('--tasks') + 1] || 0) || 100_000;
const HEARTBEAT_EVERY_MS = 20;

const spec = (args: string) => ({
  tool: { name: 'bench_heartbeat_bind' },
  workflow: {
    workflow_args: args,
    default_cluster_name: 'dummy',
    default_compute_resources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' },
  },
  task_templates: [{ name: 'step', command_template: 'echo {i}', node_args: ['i'] }],
});
/** Layers of 1,000; each task depends on the task 1,000 before it. */
const task = (i: number) => ({
  key: `t${i}`,
  template: 'step',
  node_args: { i },
  ...(i >= 1000 ? { upstream: [`t${i - 1000}`] } : {}),
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const databaseUrl = await freshDatabase('jmt_bench_heartbeat_bind');
  const db = createDb(databaseUrl);
  await migrate(db);
  const config = loadConfig({ databaseUrl, user: 'bench' }, {});
  const server = await startApiServer({
    db,
    temporal: () => Promise.reject(new Error('not needed')),
    config,
    auth: localAuth('bench'),
    host: '127.0.0.1',
    port: 0,
  });
  type Answer = { workflow_id: number; draft_id: string; num_tasks: number };
  const postText = async (route: string, body?: string) => {
    const res = await fetch(`${server.url}/api/v1${route}`, {
      method: 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${route}: ${res.status} ${text}`);
    return text;
  };
  const post = async (route: string, body?: string) => JSON.parse(await postText(route, body)) as Answer;

  // One running instance to heartbeat: a one-task workflow, its instance written as the scheduler would.
  const small = await post('/bind', JSON.stringify({ ...spec('heartbeater'), tasks: [task(0)] }));
  const instanceId = await launchOne(databaseUrl, small.workflow_id);

  const chunks: string[] = [];
  for (let start = 0; start < TASKS; start += MAX_TASKS_PER_CHUNK) {
    const n = Math.min(MAX_TASKS_PER_CHUNK, TASKS - start);
    chunks.push(JSON.stringify({ tasks: Array.from({ length: n }, (_, k) => task(start + k)) }));
  }
  const { tasks: _none, ...draftSpec } = { ...spec('big'), tasks: [] };

  // Event-loop delay per phase: tells a blocked loop (CPU work in this process) from a slow database.
  const loop: Record<string, IntervalHistogram> = {};
  let current: IntervalHistogram | undefined;
  // CPU per phase: this process (API and the bench's own small client work) and the database's
  // backends (Postgres is shared with other work on this machine; its server total would count it).
  const admin = await adminClient(databaseUrl);
  const databaseName = new URL(databaseUrl).pathname.slice(1);
  const cpu: Record<string, { api_s: number; postgres_s: number }> = {};
  let cpuMark = { api: process.cpuUsage(), pg: await databaseBackendsCpuS(admin, databaseName) };
  const closeCpu = async (name: string) => {
    const pgNow = await databaseBackendsCpuS(admin, databaseName);
    let pgS = 0;
    for (const [pid, s] of pgNow) pgS += s - (cpuMark.pg.get(pid) ?? 0);
    const api = process.cpuUsage(cpuMark.api);
    cpu[name] = { api_s: round((api.user + api.system) / 1e6, 2), postgres_s: round(pgS, 2) };
    cpuMark = { api: process.cpuUsage(), pg: pgNow };
  };
  const enter = async (name: string) => {
    current?.disable();
    if (phase !== name) await closeCpu(phase);
    current = loop[name] = monitorEventLoopDelay({ resolution: 10 });
    current.enable();
    phase = name;
  };
  let phase = 'idle';
  await enter('idle');
  const samples: { phase: string; ms: number }[] = [];
  const t0 = performance.now();
  let k = 0;
  let beating = true;
  const inFlight = new Set<Promise<void>>();
  const tick = () => {
    if (!beating) return;
    const due = t0 + k * HEARTBEAT_EVERY_MS;
    const at = phase;
    const p = fetch(`${server.url}/api/v1/task-instances/${instanceId}/heartbeat`, { method: 'POST' })
      .then((r) => r.arrayBuffer())
      .then(() => {
        samples.push({ phase: at, ms: performance.now() - due });
      });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    k++;
    setTimeout(tick, Math.max(0, t0 + k * HEARTBEAT_EVERY_MS - performance.now()));
  };
  tick();
  await new Promise((r) => setTimeout(r, 3000));

  const times: Record<string, number> = {};
  let mark = performance.now();
  await enter('upload');
  const draft = await post('/bind/drafts', JSON.stringify(draftSpec));
  for (const body of chunks) await post(`/bind/drafts/${draft.draft_id}/tasks`, body);
  times.upload_s = (performance.now() - mark) / 1000;
  mark = performance.now();
  await enter('commit');
  const boundText = await postText(`/bind/drafts/${draft.draft_id}/commit`);
  times.commit_s = (performance.now() - mark) / 1000;
  await enter('after');
  // Parsed after the commit phase: the answer's 100,000 task ids are the client's work, not the API's.
  const bound = JSON.parse(boundText) as Answer;
  await new Promise((r) => setTimeout(r, 2000));
  beating = false;
  await Promise.all(inFlight);
  current?.disable();
  await closeCpu('after');
  await admin.end();

  const phases = ['idle', 'upload', 'commit', 'after'].map((name) => {
    const ms = samples
      .filter((s) => s.phase === name)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    return {
      phase: name,
      heartbeats: ms.length,
      p50_ms: round(percentile(ms, 50), 1),
      p99_ms: round(percentile(ms, 99), 1),
      max_ms: round(ms[ms.length - 1] ?? NaN, 1),
      loop_delay_p99_ms: round(loop[name].percentile(99) / 1e6, 1),
      loop_delay_max_ms: round(loop[name].max / 1e6, 1),
      ...cpu[name],
    };
  });
  console.log(`bound ${bound.num_tasks} tasks: upload ${round(times.upload_s)} s, commit ${round(times.commit_s)} s`);
  console.table(phases);
  const out = path.join(projectRoot(), 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const result = {
    date: new Date().toISOString(),
    tasks: TASKS,
    heartbeat_every_ms: HEARTBEAT_EVERY_MS,
    ...times,
    load: os.loadavg().map((l) => round(l, 1)),
    phases,
  };
  writeFileSync(path.join(out, 'heartbeat-during-bind-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  await server.close();
  await db.destroy();
}

/** A run, a batch and a running instance of the workflow's task. */
async function launchOne(databaseUrl: string, workflowId: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `with t as (select id, array_id, task_resources_id from task where workflow_id = $1 limit 1),
            r as (insert into workflow_run (workflow_id, "user", jobmon_version, status, temporal_workflow_id)
                  values ($1, 'bench', 'bench', 'R', 'bench-hb') returning id),
            b as (insert into task_batch (workflow_run_id, workflow_id, array_id, task_resources_id, cluster_name, size, status)
                  select r.id, $1, t.array_id, t.task_resources_id, 'dummy', 1, 'S' from r, t returning id)
       insert into task_instance (workflow_run_id, workflow_id, task_id, array_id, batch_id, array_step_id, task_resources_id, status)
       select r.id, $1, t.id, t.array_id, b.id, 0, t.task_resources_id, 'R' from r, t, b returning id`,
      [workflowId],
    );
    return Number(rows[0].id);
  } finally {
    await client.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
