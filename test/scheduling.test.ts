/**
 * The scheduler's ready-task query (src/sql/scheduling.ts) and migration 0011: resource retries
 * (status A) go first, then tasks in bind order, read through the task_ready_order index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { bindAll } from '../src/sql/bind';
import { createRun, markRunStarted } from '../src/sql/runs';
import { scheduleReadyTasks } from '../src/sql/scheduling';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.destroy();
});

describe('ready tasks', () => {
  it('queues resource retries first, then tasks in bind order, up to the limit', async () => {
    const bound = await bindAll(t.db, 'tester', {
      tool: { name: 'scheduling-test' },
      workflow: {
        workflow_args: 'ready-order',
        default_cluster_name: 'dummy',
        default_compute_resources: { queue: 'null.q' },
      },
      task_templates: [{ name: 'step', command_template: 'true {i}', node_args: ['i'] }],
      tasks: Array.from({ length: 10 }, (_, i) => ({ key: `t${i}`, template: 'step', node_args: { i } })),
    });
    const ids = (
      await t.db.selectFrom('task').select('id').where('workflow_id', '=', bound.workflowId).orderBy('id').execute()
    ).map((r) => Number(r.id));
    const runId = await createRun(t.db, bound.workflowId, {
      user: 'tester',
      resumeMode: 'cold',
      temporalWorkflowId: 'wf-ready-order',
    });
    await markRunStarted(t.db, runId);
    // Tasks 7 and 8 wait for a resource retry (as after a resource error with a fresh attempt).
    await sql`update task set status = 'A' where id in (${ids[7]}, ${ids[8]})`.execute(t.db);

    const first = await scheduleReadyTasks(t.db, { workflowRunId: runId, maxBatches: 10, maxTasks: 4 });
    expect(first.counts.readyWaiting).toBe(6);
    const queued = async () =>
      (
        await t.db
          .selectFrom('task')
          .select('id')
          .where('workflow_id', '=', bound.workflowId)
          .where('status', '=', 'Q')
          .orderBy('id')
          .execute()
      ).map((r) => Number(r.id));
    expect(await queued()).toEqual([ids[0], ids[1], ids[7], ids[8]]);

    await scheduleReadyTasks(t.db, { workflowRunId: runId, maxBatches: 10, maxTasks: 3 });
    expect(await queued()).toEqual([ids[0], ids[1], ids[2], ids[3], ids[4], ids[7], ids[8]]);
  });

  it('reads ready tasks through task_ready_order instead of sorting them all', async () => {
    // On a nearly empty table any plan is cheap; forbid sorting so the planner shows the index
    // that makes sorting unnecessary (one transaction: `set local` holds for its connection only).
    const rows = await t.db.transaction().execute(async (trx) => {
      await sql`set local enable_sort = off`.execute(trx);
      const plan = await sql<{ 'QUERY PLAN': string }>`
        explain select t.id from task t
         where t.workflow_id = 1 and t.status = 'G' and t.upstream_remaining = 0
         order by t.id limit 100`.execute(trx);
      return plan.rows;
    });
    expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('task_ready_order');
  });

  it('keeps draft tasks as rows, not a JSON document per chunk (migration 0018 after 0011)', async () => {
    const { rows } = await sql<{ table_name: string }>`
      select table_name from information_schema.columns
       where table_name in ('bind_draft_chunk', 'bind_draft_task') and column_name in ('tasks', 'task_hash')
       order by 1`.execute(t.db);
    expect(rows).toEqual([{ table_name: 'bind_draft_task' }]);
  });
});
