/**
 * Operator controls (issue 5) on the real stack — API + worker + Temporal + Postgres — driven
 * through the `jmt` CLI in-process (runCli against the stack's API) and through HTTP:
 * stop --drain/--kill, resume (with/without --keep-resources), start by id, concurrency lowered
 * while tasks run, set-status (dry run, propagation, refusals, --force through the run), reset,
 * the audit log, and roles/ownership with JMT_TOKENS.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app';
import { parseTokens } from '../../src/api/auth';
import { runCli } from '../../src/cli/main';
import { dbNow } from '../../src/sql/db';
import { api, startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { instances, lastRun, taskStatusCounts, toolOn, type InstanceRecord } from './helpers';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
  // Enough local slots for the concurrency test's 4 parallel jobs on a 2-core machine (sleeps cost no CPU).
  await sql`update cluster set connection_parameters = '{"parallelism": 8}' where name = 'multiprocess'`.execute(
    stack.database.db,
  );
});
afterAll(async () => {
  await stack?.close();
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}
async function jmt(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (t: string) => ((stdout += t), true) },
    stderr: { write: (t: string) => ((stderr += t), true) },
  };
  const code = await runCli(['--api-url', stack.api.url, ...args], io, { env: stack.env });
  return { code, stdout, stderr };
}
async function jmtJson<T>(...args: string[]): Promise<T> {
  const r = await jmt(...args, '--json');
  expect(r.stderr, r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function workflowStatus(workflowId: number): Promise<string> {
  return (
    await stack.database.db
      .selectFrom('workflow')
      .select('status')
      .where('id', '=', workflowId)
      .executeTakeFirstOrThrow()
  ).status;
}
async function events(
  workflowId: number,
): Promise<
  { user: string; action: string; result: string; workflow_run_id: number | null; details: Record<string, unknown> }[]
> {
  const rows = await stack.database.db
    .selectFrom('workflow_event')
    .select(['user', 'action', 'result', 'workflow_run_id', 'details'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id')
    .execute();
  return rows;
}
async function tasksByName(
  workflowId: number,
): Promise<Map<string, { id: number; status: string; num_attempts: number; upstream_remaining: number }>> {
  const rows = await stack.database.db
    .selectFrom('task')
    .select(['id', 'name', 'status', 'num_attempts', 'upstream_remaining'])
    .where('workflow_id', '=', workflowId)
    .execute();
  return new Map(
    rows.map((r) => [
      r.name,
      { id: Number(r.id), status: r.status, num_attempts: r.num_attempts, upstream_remaining: r.upstream_remaining },
    ]),
  );
}
/** The targeted counter updates must agree with the counters recomputed from scratch. */
async function expectCountersConsistent(workflowId: number): Promise<void> {
  const wrong = await sql<{ id: number; stored: number; actual: number }>`
    select t.id, t.upstream_remaining as stored,
           (select count(*)::int from task_dependency d join task u on u.id = d.upstream_task_id
             where d.downstream_task_id = t.id and u.status <> 'D') as actual
      from task t where t.workflow_id = ${workflowId}`.execute(stack.database.db);
  expect(wrong.rows.filter((r) => r.stored !== r.actual)).toEqual([]);
}
const runningNow = (rows: InstanceRecord[]) => rows.filter((r) => r.status === 'R').length;
/** Signals and updates in the Temporal histories of every run of the workflow. */
async function signalNames(workflowId: number): Promise<string[]> {
  const runs = await stack.database.db
    .selectFrom('workflow_run')
    .select(['temporal_workflow_id', 'temporal_run_id'])
    .where('workflow_id', '=', workflowId)
    .execute();
  const names: string[] = [];
  for (const run of runs) {
    if (!run.temporal_run_id) continue;
    const history = await stack.temporal.client.workflow
      .getHandle(run.temporal_workflow_id, run.temporal_run_id)
      .fetchHistory();
    for (const e of history.events ?? []) {
      const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
      if (signal) names.push(signal);
      const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
      if (update) names.push(`update:${update}`);
    }
  }
  return names;
}

describe('stop, resume and start by id (CLI)', () => {
  it('stop --drain lets running jobs finish, ends the run resumable, is recorded and shown; resume finishes it', async () => {
    const tool = toolOn(stack, 'op-drain');
    const tt = tool.getTaskTemplate({ templateName: 'nap', commandTemplate: 'sleep 1.5 # {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'drain',
      maxConcurrentlyRunning: 2,
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(tt.createTasks({ i: [1, 2, 3, 4, 5, 6] }));
    const id = await wf.bind();

    const started = await jmtJson<{ workflow_run_id: number }>('workflow', 'start', String(id));
    await waitFor(async () => runningNow(await instances(stack.database.db, id)) === 2, {
      timeoutMs: 30_000,
      what: 'two jobs to run',
    });
    const both = await jmt('workflow', 'stop', String(id), '--drain', '--kill');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^jmt: choose one of --drain and --kill\n$/);
    const stop = await jmt('workflow', 'stop', String(id), '--drain');
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain('running tasks finish');
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'S', {
      timeoutMs: 30_000,
      what: 'the drained run to stop',
    });

    // Drained: the two running jobs finished DONE, nothing else started, nothing was killed.
    const after = await instances(stack.database.db, id);
    expect(after.map((r) => r.status)).toEqual(['D', 'D']);
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 2, G: 4 });
    expect(await workflowStatus(id)).toBe('H');

    // The drained run has ended, so a resume is accepted and runs only the four tasks left.
    const resumed = await jmt('workflow', 'resume', String(id), '--wait', '--timeout', '60');
    expect(resumed.stderr).not.toMatch(/^jmt:/m);
    expect(resumed.code).toBe(0);
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 6 });
    // DONE tasks were not run again.
    expect((await instances(stack.database.db, id)).length).toBe(6);

    const log = await events(id);
    expect(log.map((e) => `${e.action}:${e.result}`)).toEqual(['start:ok', 'stop-drain:ok', 'resume:ok']);
    expect(log[1].workflow_run_id).toBe(started.workflow_run_id);
    expect(log.every((e) => e.user === stack.config.user)).toBe(true);

    const status = await jmt('workflow', 'status', String(id));
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/last controls/);
    expect(status.stdout).toMatch(/stop-drain/);
    const listed = await jmtJson<{ events: { action: string }[] }>('workflow', 'events', String(id));
    expect(listed.events.map((e) => e.action)).toEqual(['resume', 'stop-drain', 'start']);
    // Visible in Temporal too: the stop is a signal in the first run's history.
    expect(await signalNames(id)).toContain('stop');
  }, 90_000);

  it('resume of a workflow with an active run is refused with the way out; stop --kill ends it resumable', async () => {
    const tool = toolOn(stack, 'op-kill');
    const tt = tool.getTaskTemplate({ templateName: 'nap', commandTemplate: 'sleep 60 # {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'kill',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(tt.createTasks({ i: [1, 2] }));
    const id = await wf.bind();
    expect((await jmt('workflow', 'start', String(id))).code).toBe(0);
    await waitFor(async () => runningNow(await instances(stack.database.db, id)) === 2, {
      timeoutMs: 30_000,
      what: 'two jobs to run',
    });

    const again = await jmt('workflow', 'resume', String(id));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already has an active run .*jmt workflow stop/);
    expect(again.stderr.trimEnd().split('\n')).toHaveLength(1);

    const kill = await api<{ action: string }>(stack, 'POST', `/workflows/${id}/stop`, { mode: 'kill' });
    expect(kill.action).toBe('stop-kill');
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'S', {
      timeoutMs: 30_000,
      what: 'the killed run to stop',
    });
    await waitFor(async () => (await instances(stack.database.db, id)).every((r) => r.status === 'F'), {
      timeoutMs: 30_000,
      what: 'killed instances to end F',
    });
    expect(await workflowStatus(id)).toBe('H');
    expect((await events(id)).map((e) => `${e.action}:${e.result}`)).toEqual(['start:ok', 'stop-kill:ok']);
  }, 90_000);

  it('resume scales resources of tasks whose last attempt failed for resources, unless --keep-resources', async () => {
    const tool = toolOn(stack, 'op-resources');
    const tt = tool.getTaskTemplate({ templateName: 'oom', commandTemplate: 'false # {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'resources',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q', memory: '1G' },
    });
    wf.addTasks(tt.createTasks({ i: [1], maxAttempts: 1 }));
    const id = await wf.bind();
    const memory = async () => {
      const row = await stack.database.db
        .selectFrom('task')
        .innerJoin('task_resources', 'task_resources.id', 'task.task_resources_id')
        .select('task_resources.requested_resources')
        .where('task.workflow_id', '=', id)
        .executeTakeFirstOrThrow();
      return Number((row.requested_resources as Record<string, unknown>).memory);
    };
    // Only a cluster (Slurm) reports resource kills (Z); the local distributor's `false` ends E, so
    // the test turns that verdict into the one Slurm accounting would have given.
    const failWithResourceError = async () => {
      await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'E', {
        timeoutMs: 30_000,
        what: 'the run to fail',
      });
      await sql`update task_instance set status = 'Z' where id = (select max(id) from task_instance where workflow_id = ${id})`.execute(
        stack.database.db,
      );
    };
    expect((await jmt('workflow', 'start', String(id))).code).toBe(0);
    await failWithResourceError();
    const before = await memory();

    const scaled = await jmtJson<{ resources_increased: number }>('workflow', 'resume', String(id));
    expect(scaled.resources_increased).toBe(1);
    expect(await memory()).toBeGreaterThan(before);
    const afterScale = await memory();

    await failWithResourceError();
    const kept = await jmtJson<{ resources_increased: number }>('workflow', 'resume', String(id), '--keep-resources');
    expect(kept.resources_increased).toBe(0);
    expect(await memory()).toBe(afterScale);
    await failWithResourceError();
    const log = await events(id);
    expect(log.map((e) => [e.action, e.details.keep_resources, e.details.resources_increased])).toEqual([
      ['start', false, 0],
      ['resume', false, 1],
      ['resume', true, 0],
    ]);
  }, 90_000);
});

describe('concurrency at run time', () => {
  it('after the update returns, running tasks never exceed the new limit (4 → 1), and the reply states the limits', async () => {
    const tool = toolOn(stack, 'op-concurrency');
    const tt = tool.getTaskTemplate({ templateName: 'nap', commandTemplate: 'sleep 1.5 # {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'lower',
      maxConcurrentlyRunning: 4,
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(tt.createTasks({ i: [1, 2, 3, 4, 5, 6, 7] }));
    const id = await wf.bind();
    expect((await jmt('workflow', 'start', String(id))).code).toBe(0);
    // All four slots taken by running jobs: nothing is queued beyond the old limit when it drops.
    await waitFor(async () => runningNow(await instances(stack.database.db, id)) === 4, {
      timeoutMs: 30_000,
      what: 'four jobs to run',
    });

    const bad = await jmt('workflow', 'concurrency', String(id), '--limit', '-1');
    expect(bad.code).toBe(2);
    const unknown = await jmt('workflow', 'concurrency', String(id), '--limit', '1', '--template', 'ghost');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no task template "ghost".*field: template/);

    const limits = await jmtJson<{ workflow: number; templates: Record<string, number> }>(
      'workflow',
      'concurrency',
      String(id),
      '--limit',
      '1',
    );
    const returnedAt = await dbNow(stack.database.db);
    expect(limits.workflow).toBe(1);
    expect(Object.keys(limits.templates)).toEqual(['nap']);

    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'D', {
      timeoutMs: 60_000,
      what: 'the run to finish',
    });
    const all = await instances(stack.database.db, id);
    expect(all).toHaveLength(7);
    // For every job started after the update returned: how many ran at that moment (itself included).
    const later = all.filter((r) => r.started_date && r.started_date > returnedAt);
    expect(later).toHaveLength(3);
    for (const r of later) {
      const t = (r.started_date as Date).getTime();
      const concurrent = all.filter(
        (o) => o.started_date && o.started_date.getTime() <= t && (!o.ended_date || o.ended_date.getTime() > t),
      );
      expect(concurrent.length, `instance ${r.id} started with ${concurrent.length} running`).toBe(1);
    }
    expect(await signalNames(id)).toContain('update:setConcurrency');
    // -1 never left the CLI; the unknown template was refused by the API and, refused, not written.
    expect((await events(id)).map((e) => [e.action, e.result, e.details.limit])).toEqual([
      ['start', 'ok', undefined],
      ['concurrency', 'ok', 1],
    ]);
  }, 90_000);
});

describe('set-status and reset', () => {
  /** a{i} → b{i} → c{i} for i = 1..3 on the dummy distributor, run to DONE. */
  async function doneChains(args: string) {
    const tool = toolOn(stack, `op-status-${args}`);
    const a = tool.getTaskTemplate({ templateName: 'a', commandTemplate: 'a {i}', nodeArgs: ['i'] });
    const b = tool.getTaskTemplate({ templateName: 'b', commandTemplate: 'b {i}', nodeArgs: ['i'] });
    const c = tool.getTaskTemplate({ templateName: 'c', commandTemplate: 'c {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: args,
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    for (const i of [1, 2, 3]) {
      const ta = a.createTask({ i, name: `a${i}` });
      const tb = b.createTask({ i, name: `b${i}`, upstreamTasks: [ta] });
      const tc = c.createTask({ i, name: `c${i}`, upstreamTasks: [tb] });
      wf.addTasks([ta, tb, tc]);
    }
    expect(await wf.run({ progress: false })).toBe('D');
    return wf.workflowId as number;
  }

  it('G runs a task again with its DONE descendants; D lets descendants run; --recursive marks upstream; DONE workflow flips back', async () => {
    const id = await doneChains('chains');
    let tasks = await tasksByName(id);

    // Dry run: what G of a1 would do, and nothing changes.
    const preview = await jmtJson<{ changed: number; propagated: number; by_template: unknown[]; dry_run: boolean }>(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'G',
      '--template',
      'a',
      '--node-arg',
      'i=1',
      '--dry-run',
    );
    expect(preview).toMatchObject({ dry_run: true, changed: 3, propagated: 2 });
    expect(preview.by_template).toEqual([
      { template: 'a', status: 'D', n: 1 },
      { template: 'b', status: 'D', n: 1 },
      { template: 'c', status: 'D', n: 1 },
    ]);
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 9 });

    const rerun = await jmt(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'G',
      '--task',
      String(tasks.get('a1')!.id),
    );
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/3 task\(s\) set to REGISTERING \(run again\) \(1 selected, 2 descendants added\)/);
    tasks = await tasksByName(id);
    expect(['a1', 'b1', 'c1'].map((n) => tasks.get(n)!.status)).toEqual(['G', 'G', 'G']);
    expect(tasks.get('a2')!.status).toBe('D');
    expect(await workflowStatus(id)).toBe('H');
    await expectCountersConsistent(id);

    // G of a2, then D of b2 alone: c2 becomes ready although a2 will run again.
    await jmtJson(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'G',
      '--task',
      String(tasks.get('a2')!.id),
    );
    await jmtJson(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'D',
      '--task',
      String(tasks.get('b2')!.id),
    );
    tasks = await tasksByName(id);
    expect(['a2', 'b2', 'c2'].map((n) => [tasks.get(n)!.status, tasks.get(n)!.upstream_remaining])).toEqual([
      ['G', 0],
      ['D', 1],
      ['G', 0],
    ]);
    await expectCountersConsistent(id);

    // G of a3, then D --recursive of c3: b3 and a3 (upstream, not DONE) become DONE too.
    await jmtJson(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'G',
      '--task',
      String(tasks.get('a3')!.id),
    );
    const recursive = await jmtJson<{ changed: number; propagated: number }>(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'D',
      '--task',
      String(tasks.get('c3')!.id),
      '--recursive',
    );
    expect(recursive).toMatchObject({ changed: 3, propagated: 2 });
    await expectCountersConsistent(id);

    // Resume runs exactly what was set to run again: a1 b1 c1 a2 c2 (b2 was marked DONE).
    expect((await jmt('workflow', 'resume', String(id), '--wait', '--timeout', '60')).code).toBe(0);
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 9 });
    const perTask = await sql<{ name: string; n: number }>`
      select t.name, count(ti.id)::int as n from task t left join task_instance ti on ti.task_id = t.id
       where t.workflow_id = ${id} group by t.name order by t.name`.execute(stack.database.db);
    expect(Object.fromEntries(perTask.rows.map((r) => [r.name, r.n]))).toEqual({
      a1: 2,
      a2: 2,
      a3: 1,
      b1: 2,
      b2: 1,
      b3: 1,
      c1: 2,
      c2: 2,
      c3: 1,
    });
    const log = await events(id);
    expect(log.filter((e) => e.action === 'set-status').map((e) => [e.details.status, e.details.changed])).toEqual([
      ['G', 3],
      ['G', 3],
      ['D', 1],
      ['G', 3],
      ['D', 3],
    ]);
  }, 90_000);

  it('refuses bad input with the field named, needs --yes above 1,000 tasks, and marks a workflow DONE when nothing is left', async () => {
    const tool = toolOn(stack, 'op-many');
    const tt = tool.getTaskTemplate({ templateName: 'many', commandTemplate: 'many {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'many',
      defaultClusterName: 'dummy',
      defaultComputeResources: { queue: 'null.q' },
    });
    wf.addTasks(tt.createTasks({ i: Array.from({ length: 1001 }, (_, i) => i) }));
    const id = await wf.bind();
    const post = (body: unknown) =>
      api<Record<string, unknown>>(stack, 'POST', `/workflows/${id}/tasks/set-status`, body);

    await expect(post({ status: 'D' })).rejects.toThrow(/422 .*"field":"selection"/);
    await expect(post({ status: 'X', template: 'many' })).rejects.toThrow(/422 .*"field":"status"/);
    await expect(post({ status: 'D', status_filter: ['NOPE'] })).rejects.toThrow(/422 .*"field":"status_filter"/);
    await expect(post({ status: 'D', task_ids: [999999999] })).rejects.toThrow(/422 .*"field":"task_ids"/);
    await expect(post({ status: 'D', template: 'ghost' })).rejects.toThrow(/422 .*"field":"template"/);
    const usage = await jmt('task', 'set-status', '--workflow', String(id), '--status', 'X', '--template', 'many');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^jmt: --status must be D \(DONE\) or G/);
    const noSelection = await jmt('task', 'set-status', '--workflow', String(id), '--status', 'D');
    expect(noSelection.code).toBe(2);

    const preview = await jmtJson<{ changed: number; needs_confirm: boolean }>(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'D',
      '--status-filter',
      'PENDING',
      '--dry-run',
    );
    expect(preview).toMatchObject({ changed: 1001, needs_confirm: true });
    const unconfirmed = await jmt(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'D',
      '--status-filter',
      'G',
    );
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/1001 task\(s\) would change.*--yes/);
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ G: 1001 });

    const done = await jmtJson<{ changed: number; workflow_status: string }>(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'D',
      '--status-filter',
      'G',
      '--yes',
    );
    expect(done).toMatchObject({ changed: 1001, workflow_status: 'D' });
    expect(await workflowStatus(id)).toBe('D');
    // Nothing left to run: a resume says so.
    await expect(api(stack, 'POST', `/workflows/${id}/runs`, {})).rejects.toThrow(/409 .*workflow_done/);
  }, 60_000);

  it('during a run: running tasks are refused unless --force, which kills their jobs through the run; reset waits for the run to end', async () => {
    const tool = toolOn(stack, 'op-force');
    const slow = tool.getTaskTemplate({ templateName: 'slow', commandTemplate: 'sleep 60 # {i}', nodeArgs: ['i'] });
    const after = tool.getTaskTemplate({ templateName: 'after', commandTemplate: 'true # {i}', nodeArgs: ['i'] });
    const wf = tool.createWorkflow({
      workflowArgs: 'force',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    const s1 = slow.createTask({ i: 1, name: 's1' });
    const s2 = slow.createTask({ i: 2, name: 's2' });
    wf.addTasks([s1, s2, after.createTask({ i: 1, name: 'after1', upstreamTasks: [s1] })]);
    const id = await wf.bind();
    expect((await jmt('workflow', 'start', String(id))).code).toBe(0);
    await waitFor(async () => runningNow(await instances(stack.database.db, id)) === 2, {
      timeoutMs: 30_000,
      what: 'both slow jobs to run',
    });
    const tasks = await tasksByName(id);

    const refused = await jmt(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'D',
      '--task',
      String(tasks.get('s1')!.id),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/queued or running job.*force/);
    const resetRefused = await jmt('workflow', 'reset', String(id));
    expect(resetRefused.code).toBe(2);
    expect(resetRefused.stderr).toMatch(/active run/);

    const forced = await jmtJson<{ changed: number; killed_jobs: number }>(
      'task',
      'set-status',
      '--workflow',
      String(id),
      '--status',
      'D',
      '--task',
      String(tasks.get('s1')!.id),
      '--force',
    );
    expect(forced).toMatchObject({ changed: 1, killed_jobs: 1 });
    // The run picks the change up: after1 becomes ready and runs; s1's job is gone, s1 stays DONE.
    await waitFor(async () => (await tasksByName(id)).get('after1')!.status === 'D', {
      timeoutMs: 30_000,
      what: 'after1 to run',
    });
    await waitFor(
      async () => {
        const s1Instances = (await instances(stack.database.db, id)).filter((r) => r.task_id === tasks.get('s1')!.id);
        return s1Instances.every((r) => r.status === 'F');
      },
      { timeoutMs: 30_000, what: "s1's killed job to end" },
    );
    expect((await tasksByName(id)).get('s1')!.status).toBe('D');
    expect(await signalNames(id)).toContain('update:killTasks');

    await api(stack, 'POST', `/workflows/${id}/stop`, { mode: 'kill' });
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'S', {
      timeoutMs: 30_000,
      what: 'the run to stop',
    });

    const partial = await jmtJson<{ reset: number; kept_done: number }>('workflow', 'reset', String(id), '--keep-done');
    expect(partial).toMatchObject({ reset: 1, kept_done: 2 });
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ D: 2, G: 1 });
    const full = await jmtJson<{ reset: number }>('workflow', 'reset', String(id));
    expect(full.reset).toBe(2);
    expect(await taskStatusCounts(stack.database.db, id)).toEqual({ G: 3 });
    const attempts = await stack.database.db
      .selectFrom('task')
      .select('num_attempts')
      .where('workflow_id', '=', id)
      .execute();
    expect(attempts.every((r) => r.num_attempts === 0)).toBe(true);
    expect(await workflowStatus(id)).toBe('G');
    await expectCountersConsistent(id);
    expect((await events(id)).map((e) => `${e.action}:${e.result}`)).toEqual([
      'start:ok',
      'set-status:ok',
      'stop-kill:ok',
      'reset:ok',
      'reset:ok',
    ]);
  }, 90_000);
});

describe('roles and ownership (JMT_TOKENS)', () => {
  const TOKENS =
    'alice-token-1:alice:operator,bob-token-22:bob:operator,watch-token-3:watcher:observer,admin-token-4:root:admin';

  it('observers get 403 on every control, other operators 403, the owner and admins may; refusals change nothing', async () => {
    const app = createApp({
      db: stack.database.db,
      temporal: stack.temporal.client,
      config: stack.config,
      auth: { mode: 'tokens', tokens: parseTokens(TOKENS) },
    });
    const call = async (method: string, route: string, token: string, body?: unknown) => {
      const res = await app.request(`/api/v1${route}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const bound = await call('POST', '/bind', 'alice-token-1', {
      tool: { name: 'op-auth' },
      // Limit 0: the run stays active (holding everything back) while the controls are tried.
      workflow: {
        workflow_args: 'auth',
        max_concurrently_running: 0,
        default_cluster_name: 'dummy',
        default_compute_resources: { queue: 'null.q' },
      },
      task_templates: [{ name: 'noop', command_template: 'noop {i}', node_args: ['i'] }],
      tasks: [1, 2, 3].map((i) => ({ key: `t${i}`, template: 'noop', node_args: { i } })),
    });
    expect(bound.status).toBe(200);
    const id = bound.body.workflow_id as number;

    const controls: [string, string, unknown][] = [
      ['POST', `/workflows/${id}/runs`, {}],
      ['POST', `/workflows/${id}/pause`, undefined],
      ['POST', `/workflows/${id}/unpause`, undefined],
      ['PUT', `/workflows/${id}/concurrency`, { limit: 0 }],
      ['POST', `/workflows/${id}/tasks/set-status`, { status: 'D', task_ids: [1], dry_run: true }],
      ['POST', `/workflows/${id}/stop`, { mode: 'drain' }],
      ['POST', `/workflows/${id}/reset`, {}],
    ];
    for (const [method, route, body] of controls) {
      const observer = await call(method, route, 'watch-token-3', body);
      expect(observer.status, `observer ${method} ${route}`).toBe(403);
      expect(observer.body.error.message).toMatch(/observer/);
      const bob = await call(method, route, 'bob-token-22', body);
      expect(bob.status, `bob ${method} ${route}`).toBe(403);
      expect(bob.body.error.code).toBe('not_owner');
    }
    // Refused calls changed nothing and were not logged: no run, no events.
    expect(await lastRun(stack.database.db, id)).toBeUndefined();
    expect(await events(id)).toEqual([]);

    // The admin starts alice's workflow; alice pauses and unpauses it; the admin stops it.
    expect((await call('POST', `/workflows/${id}/runs`, 'admin-token-4', {})).status).toBe(201);
    expect((await call('POST', `/workflows/${id}/pause`, 'alice-token-1')).status).toBe(200);
    expect((await call('POST', `/workflows/${id}/unpause`, 'admin-token-4')).status).toBe(200);
    expect((await call('PUT', `/workflows/${id}/concurrency`, 'alice-token-1', { limit: 0 })).body).toMatchObject({
      workflow: 0,
    });
    const taskId = Number(
      (
        await stack.database.db
          .selectFrom('task')
          .select('id')
          .where('workflow_id', '=', id)
          .orderBy('id')
          .executeTakeFirstOrThrow()
      ).id,
    );
    const setStatus = await call('POST', `/workflows/${id}/tasks/set-status`, 'alice-token-1', {
      status: 'D',
      task_ids: [taskId],
    });
    expect(setStatus.status).toBe(200);
    expect(setStatus.body).toMatchObject({ changed: 1, applied: true });
    expect((await call('POST', `/workflows/${id}/stop`, 'admin-token-4', { mode: 'drain' })).status).toBe(200);
    await waitFor(async () => (await lastRun(stack.database.db, id))?.status === 'S', {
      timeoutMs: 30_000,
      what: 'the run to stop',
    });
    expect((await call('POST', `/workflows/${id}/reset`, 'alice-token-1', { keep_done: true })).status).toBe(200);

    // Everyone may read the log; it names who did what.
    const log = await call('GET', `/workflows/${id}/events`, 'watch-token-3');
    expect(log.status).toBe(200);
    expect(
      (log.body.events as { user: string; action: string; result: string }[])
        .reverse()
        .map((e) => `${e.user}:${e.action}:${e.result}`),
    ).toEqual([
      'root:start:ok',
      'alice:pause:ok',
      'root:unpause:ok',
      'alice:concurrency:ok',
      'alice:set-status:ok',
      'root:stop-drain:ok',
      'alice:reset:ok',
    ]);
    const status = await call('GET', `/workflows/${id}/status`, 'watch-token-3');
    expect((status.body.events as unknown[]).length).toBe(5);
  }, 60_000);
});
