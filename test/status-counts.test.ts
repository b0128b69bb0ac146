/**
 * Kept task counts (migration 0019, src/sql/status-counts.ts): whatever writes statuses — bind,
 * the scheduler, plain updates of many rows, a transaction rolled back, readiness changing as
 * upstreams finish — the counters equal a count of the rows, and folding them changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { bindAll } from '../src/sql/bind';
import { createRun, markRunStarted } from '../src/sql/runs';
import { scheduleReadyTasks } from '../src/sql/scheduling';
import { statusCounts } from '../src/sql/status-counts';
import type { BindRequest } from '../src/domain/bind-spec';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.destroy();
});

/** "array:status:ready" → n, from the counters and from the rows. */
async function both(workflowId: number): Promise<[Record<string, number>, Record<string, number>]> {
  const kept: Record<string, number> = {};
  for (const c of await statusCounts(t.db, workflowId)) kept[`${c.array_id}:${c.status}:${c.ready}`] = c.n;
  const { rows } = await sql<{ array_id: number; status: string; ready: boolean; n: number }>`
    select array_id, status, status in ('G','A') and upstream_remaining = 0 as ready, count(*)::int as n
      from task where workflow_id = ${workflowId} group by 1, 2, 3`.execute(t.db);
  const counted: Record<string, number> = {};
  for (const r of rows) counted[`${r.array_id}:${r.status}:${r.ready}`] = r.n;
  return [kept, counted];
}

describe('task_status_count', () => {
  it('follows every kind of status write and survives folding', async () => {
    const bound = await bindAll(t.db, 'tester', request());
    const wf = bound.workflowId;
    const check = async () => {
      const [kept, counted] = await both(wf);
      expect(kept).toEqual(counted);
    };
    await check();

    const runId = await createRun(t.db, wf, { user: 'tester', resumeMode: 'cold', temporalWorkflowId: 'wf-counts' });
    await markRunStarted(t.db, runId);
    const scheduled = await scheduleReadyTasks(t.db, { workflowRunId: runId, maxBatches: 10, maxTasks: 12 });
    expect(scheduled.counts.byStatus.Q).toBe(12);
    await check();

    // Many rows in one statement, readiness released as upstreams finish, a rollback.
    await sql`update task set status = 'D' where workflow_id = ${wf} and status = 'Q'`.execute(t.db);
    await sql`update task d set upstream_remaining = d.upstream_remaining - 1
                from task_dependency e join task u on u.id = e.upstream_task_id
               where e.downstream_task_id = d.id and u.workflow_id = ${wf} and u.status = 'D'`.execute(t.db);
    await check();
    await t.db
      .transaction()
      .execute(async (trx) => {
        await sql`update task set status = 'F' where workflow_id = ${wf}`.execute(trx);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await check();
    for (let i = 0; i < 80; i++)
      await sql`update task set status = case when status = 'G' then 'A' else 'G' end
                 where workflow_id = ${wf} and status in ('G','A') and id % 3 = ${i % 3}`.execute(t.db);
    const before = await t.db
      .selectFrom('task_status_count')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    await check(); // the read folds the pile of deltas
    const after = await t.db
      .selectFrom('task_status_count')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBeLessThan(Number(before.n));
    await check();

    // A rebind (resume) moves nothing.
    await bindAll(t.db, 'tester', request());
    await check();
  });
});

/** 30 tasks of template a, 20 of b each after one of a. */
function request(): BindRequest {
  return {
    tool: { name: 'counts-test' },
    workflow: {
      workflow_args: 'counts',
      default_cluster_name: 'dummy',
      default_compute_resources: { queue: 'null.q' },
    },
    task_templates: [
      { name: 'a', command_template: 'true {i}', node_args: ['i'] },
      { name: 'b', command_template: 'true {i}', node_args: ['i'] },
    ],
    tasks: [
      ...Array.from({ length: 30 }, (_, i) => ({ key: `a${i}`, template: 'a', node_args: { i } })),
      ...Array.from({ length: 20 }, (_, i) => ({ key: `b${i}`, template: 'b', node_args: { i }, upstream: [`a${i}`] })),
    ],
  };
}
