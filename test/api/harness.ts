/**
 * What the API tests in this folder share: one real Postgres database per test file (created in
 * setupApiTest's beforeAll), the app built with Temporal deliberately unreachable (a getter that
 * rejects) so runs and controls answer 503 after the auth and owner checks while every read works,
 * and the request, bind and instance helpers. Most requests go through `app.request()` (no sockets).
 */
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config';
import { createApp } from '../../src/api/app';
import type { AuthConfig } from '../../src/api/auth';
import type { RunNotifier } from '../../src/control/run-notifier';
import { createDb, type Db } from '../../src/sql/db';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { adminUrl } from '../helpers/db-names';

export const TOKENS =
  'alice-token-1:alice:operator,bob-token-22:bob:operator,watch-token-3:watcher:observer,admin-token-4:root:admin';

let tdb: TestDatabase;
/** The test database of this file (set in beforeAll of setupApiTest). */
export let db: Db;
export let config: Config;

export const temporalDown = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));

export function makeApp(auth: AuthConfig, notifier?: RunNotifier) {
  return createApp({ db, temporal: temporalDown, config, auth, notifier });
}

export type Json = Record<string, any>;

export async function call(
  app: ReturnType<typeof makeApp>,
  method: string,
  url: string,
  options: { body?: unknown; raw?: string; token?: string } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
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
}

/** Two templates: four `model` tasks (one per location) feeding one `agg` task. */
export function bindRequest(workflowArgs: string, extra: { tasks?: Json[] } = {}) {
  return {
    tool: { name: 'api_test_tool' },
    workflow: {
      workflow_args: workflowArgs,
      name: `wf ${workflowArgs}`,
      default_cluster_name: 'dummy',
      default_compute_resources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '10m' },
    },
    task_templates: [
      {
        name: 'model',
        command_template: 'python model.py --loc {location_id} {verbose}',
        node_args: ['location_id'],
        op_args: ['verbose'],
      },
      { name: 'agg', command_template: 'python agg.py --year {year}', node_args: ['year'] },
    ],
    tasks: extra.tasks ?? [
      ...[1, 2, 3, 4].map((loc) => ({
        key: `m${loc}`,
        template: 'model',
        node_args: { location_id: loc },
        op_args: { verbose: '-v' },
        attributes: { group: loc <= 2 ? 'low' : 'high' },
      })),
      { key: 'agg', template: 'agg', node_args: { year: 2020 }, upstream: ['m1', 'm2', 'm3', 'm4'] },
    ],
  };
}

export async function taskIds(workflowId: number): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('task')
    .select(['id', 'name'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id')
    .execute();
  return new Map(rows.map((r) => [r.name, Number(r.id)]));
}

/** A run, a batch and one launched (O) instance per given task, as the scheduler would create them. */
export async function launchInstances(workflowId: number, ids: number[]): Promise<number[]> {
  const run = await db
    .insertInto('workflow_run')
    .values({
      workflow_id: workflowId,
      user: 'alice',
      jobmon_version: 'test',
      status: 'R',
      temporal_workflow_id: `test-wf-${workflowId}`,
      temporal_run_id: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const out: number[] = [];
  for (const [step, taskId] of ids.entries()) {
    const task = await db
      .selectFrom('task')
      .select(['array_id', 'task_resources_id'])
      .where('id', '=', taskId)
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
        array_step_id: step,
        task_resources_id: task.task_resources_id,
        status: 'O',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.updateTable('task').set({ status: 'O', num_attempts: 1 }).where('id', '=', taskId).execute();
    out.push(Number(ti.id));
  }
  return out;
}

/** One database per test file, shared by its describe blocks; call at the top of the file. */
export function setupApiTest(): void {
  beforeAll(async () => {
    tdb = await createTestDatabase();
    // Our own pool, closed (and waited for) below: the helper's destroy() can race a FORCE drop
    // against the backends of a pool that is still closing, which pg reports as an uncaught 57P01.
    db = createDb(tdb.url, 5);
    config = loadConfig(
      {
        databaseUrl: tdb.url,
        user: 'alice',
        logDir: path.join(os.tmpdir(), 'jmt-api-test-logs'),
        taskInstanceHeartbeatS: 10,
        reportByBuffer: 3.1,
        // Every answer of these tests is checked against its published response schema.
        checkResponses: true,
      },
      {},
    );
  });

  afterAll(async () => {
    await db?.destroy();
    if (tdb) {
      await waitForNoSessions(tdb.name);
      await tdb.destroy();
    }
  });
}

/** pool.end() resolves once Terminate is sent; wait (bounded) until the server has ended the sessions. */
async function waitForNoSessions(database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(inject('databaseServerUrl')) });
  await admin.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [database],
      );
      if (rows[0].n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await admin.end();
  }
}
