/**
 * The API in token mode over a fresh test database, without sockets (`app.request`), for the
 * authorization, hostile-input and property tests of test/api/. Temporal is unreachable on
 * purpose: runs and controls answer 503 only after their auth and owner checks, so a 503 there
 * means "allowed", a 403 "refused", and nothing reached Temporal either way.
 */
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createApp } from '../../src/api/app';
import { parseTokens, type AuthConfig } from '../../src/api/auth';
import { loadConfig, type Config } from '../../src/config';
import type { Db } from '../../src/sql/db';
import { createTestDatabase, type TestDatabase } from './db';

/** Two operators, an observer and an admin. */
export const TOKENS = {
  alice: 'alice-token-1',
  bob: 'bob-token-22',
  watcher: 'watch-token-3',
  root: 'admin-token-4',
} as const;
export type Who = keyof typeof TOKENS;
export const TOKENS_SPEC =
  'alice-token-1:alice:operator,bob-token-22:bob:operator,watch-token-3:watcher:observer,admin-token-4:root:admin';

export type Json = Record<string, any>; // answers of many shapes, read field by field
export interface Answer {
  status: number;
  body: Json;
}

export interface TokenApp {
  db: Db;
  config: Config;
  app: ReturnType<typeof createApp>;
  call(method: string, url: string, options?: { body?: unknown; raw?: string; as?: Who | string }): Promise<Answer>;
  close(): Promise<void>;
}

const temporalDown = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));

export async function startTokenApp(options: { auth?: AuthConfig; config?: Partial<Config> } = {}): Promise<TokenApp> {
  const tdb: TestDatabase = await createTestDatabase();
  const config = loadConfig(
    {
      databaseUrl: tdb.url,
      user: 'alice',
      logDir: path.join(os.tmpdir(), 'jmt-token-app-logs'),
      publicUrl: 'https://jobmon.example.org',
      ...options.config,
    },
    {},
  );
  const auth = options.auth ?? { mode: 'tokens', tokens: parseTokens(TOKENS_SPEC) };
  const app = createApp({ db: tdb.db, temporal: temporalDown, config, auth });
  return {
    db: tdb.db,
    config,
    app,
    async call(method, url, opts = {}) {
      const headers: Record<string, string> = {};
      const who = opts.as ?? 'alice';
      const token = (TOKENS as Record<string, string>)[who] ?? who;
      if (token) headers.authorization = `Bearer ${token}`;
      const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await app.request(url, { method, headers, body });
      const text = await res.text();
      let parsed: Json;
      try {
        parsed = JSON.parse(text) as Json;
      } catch {
        parsed = { text };
      }
      return { status: res.status, body: parsed };
    },
    close: () => tdb.destroy(),
  };
}

/** Two templates: four `model` tasks (one per location) feeding one `agg` task. */
export function bindRequest(workflowArgs: string, opts: { verbose?: string; command?: string } = {}) {
  return {
    tool: { name: 'safety_tool' },
    workflow: {
      workflow_args: workflowArgs,
      name: `wf ${workflowArgs}`,
      default_cluster_name: 'dummy',
      default_compute_resources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' },
    },
    task_templates: [
      {
        name: 'model',
        command_template: opts.command ?? 'python model.py --loc {location_id} {verbose}',
        node_args: ['location_id'],
        op_args: ['verbose'],
      },
      { name: 'agg', command_template: 'python agg.py --year {year}', node_args: ['year'] },
    ],
    tasks: [
      ...[1, 2, 3, 4].map((loc) => ({
        key: `m${loc}`,
        template: 'model',
        node_args: { location_id: loc },
        op_args: { verbose: opts.verbose ?? '-v' },
      })),
      { key: 'agg', template: 'agg', node_args: { year: 2020 }, upstream: ['m1', 'm2', 'm3', 'm4'] },
    ],
  };
}

/** Row count of every table of the schema (migration bookkeeping aside): "nothing changed" in one value. */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%'
     order by table_name`.execute(db);
  const out: Record<string, number> = {};
  for (const { table_name } of rows) {
    const { rows: n } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)}`.execute(db);
    out[table_name] = n[0].n;
  }
  return out;
}

/** Commands of a workflow's tasks by name: what a re-bind could rewrite. */
export async function commands(db: Db, workflowId: number): Promise<Record<string, string>> {
  const rows = await db
    .selectFrom('task')
    .select(['name', 'command'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.name, r.command]));
}

/** A run, a batch and one launched (O) instance of the task, as the scheduler would create them. */
export async function launchInstance(db: Db, workflowId: number, taskId: number, distributorId?: string) {
  const task = await db
    .selectFrom('task')
    .select(['array_id', 'task_resources_id'])
    .where('id', '=', taskId)
    .executeTakeFirstOrThrow();
  const run = await db
    .insertInto('workflow_run')
    .values({
      workflow_id: workflowId,
      user: 'alice',
      jobmon_version: 'test',
      status: 'R',
      temporal_workflow_id: `test-wf-${workflowId}-${taskId}`,
      temporal_run_id: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const batch = await db
    .insertInto('task_batch')
    .values({
      workflow_run_id: run.id,
      workflow_id: workflowId,
      array_id: task.array_id,
      task_resources_id: task.task_resources_id,
      cluster_name: 'dummy',
      size: 1,
      status: 'S',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const ti = await db
    .insertInto('task_instance')
    .values({
      workflow_run_id: run.id,
      workflow_id: workflowId,
      task_id: taskId,
      array_id: task.array_id,
      batch_id: batch.id,
      array_step_id: 0,
      task_resources_id: task.task_resources_id,
      status: 'O',
      distributor_id: distributorId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.updateTable('task').set({ status: 'O', num_attempts: 1 }).where('id', '=', taskId).execute();
  return { instanceId: Number(ti.id), batchId: Number(batch.id), runId: run.id };
}
