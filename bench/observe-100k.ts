/**
 * Latency of the observer queries at 100,000 tasks (issue 6). Builds a synthetic 100k-task
 * workflow directly in SQL in a scratch database (4 templates, layered dependencies, ~107k
 * instances with 5,000 errors including resource errors, plus 20,000 DONE instances of history in
 * another workflow), then times each query (median of 5 after one warm-up).
 *   node dist/bench/observe-100k.js            (DATABASE_URL's server; database jmt_observe_bench, re-created)
 */
import { sql } from 'kysely';
import { loadConfig } from '../src/config';
import { createDb, migrate } from '../src/sql/db';
import { freshDatabase } from './support';
import { listWorkflowErrors } from '../src/sql/reads/workflow-errors';
import { getWorkflowStatus } from '../src/sql/reads/workflow-status';
import { workflowTasksPageJson } from '../src/sql/reads/workflow-tasks';
import { getWorkflowProgress } from '../src/sql/observe/progress';
import { groupWorkflowErrors } from '../src/sql/observe/errors';
import { templateDag } from '../src/sql/observe/dag';
import { searchWorkflows } from '../src/sql/observe/find';
import { templateUsage, resourceRetries } from '../src/sql/observe/resources';

async function main(): Promise<void> {
  const db = createDb(await freshDatabase('jmt_observe_bench'), 4);
  await migrate(db);
  const config = loadConfig({}, process.env);
  const { rows: existing } = await sql<{
    id: number;
  }>`select id from workflow where workflow_args = 'bench-100k'`.execute(db);
  let wf = existing[0]?.id;
  if (!wf) {
    const t0 = Date.now();
    await sql`
      insert into tool (name) values ('bench') on conflict do nothing;
      insert into tool_version (tool_id) select id from tool where name = 'bench';
    `.execute(db);
    const tv = (await sql<{ id: number }>`select max(id) as id from tool_version`.execute(db)).rows[0].id;
    const templates = ['prep', 'model', 'agg', 'summary'];
    for (const name of templates) {
      await sql`insert into task_template (tool_version_id, name) values (${tv}, ${name})`.execute(db);
      await sql`insert into task_template_version (task_template_id, command_template, node_args, task_args, op_args, arg_mapping_hash)
                select id, ${name + ' {i}'}, '{i}', '{}', '{}', 'h' from task_template where tool_version_id = ${tv} and name = ${name}`.execute(
        db,
      );
    }
    await sql`insert into task_resources (hash, cluster_name, queue, resources_type, requested_resources)
              values ('bench-res', 'dummy', 'null.q', 'O', '{"queue":"null.q","cores":1,"memory":2,"runtime":600}') on conflict do nothing`.execute(
      db,
    );
    const res = (await sql<{ id: number }>`select id from task_resources where hash = 'bench-res'`.execute(db)).rows[0]
      .id;
    for (const [args, n] of [
      ['history', 20_000],
      ['bench-100k', 100_000],
    ] as const) {
      const w = (
        await sql<{
          id: number;
        }>`insert into workflow (tool_version_id, workflow_args, workflow_args_hash, task_hash, dag_hash, name, "user", default_cluster_name, num_tasks, status)
        values (${tv}, ${args}, ${args}, ${args}, ${args}, ${args}, 'bench', 'dummy', ${n}, 'R') returning id`.execute(
          db,
        )
      ).rows[0].id;
      await sql`insert into array_ (workflow_id, task_template_version_id, name)
                select ${w}, v.id, tt.name from task_template_version v join task_template tt on tt.id = v.task_template_id where tt.tool_version_id = ${tv}`.execute(
        db,
      );
      // Template of task i: 0 → prep (1 %), model (94 %), agg (4 %), summary (1 %).
      await sql`insert into task (workflow_id, array_id, name, task_hash, node_args_hash, node_args, task_args, op_args, command,
                                  original_resources_id, task_resources_id, resource_scales, max_attempts, num_attempts, status)
        select ${w}, a.id, 't' || i, 'h' || i, 'n' || (i % 500), jsonb_build_object('i', i % 500), '{}', '{}', 'cmd ' || i, ${res}, ${res}, '{}', 3,
               case when i % 20 = 0 then 2 else 1 end,
               case when ${args} = 'history' then 'D' when i % 100 = 7 then 'F' when i % 10 < 6 then 'D' when i % 10 = 6 then 'R' else 'G' end
          from generate_series(1, ${n}) i
          join array_ a on a.workflow_id = ${w} and a.name = case when i % 100 = 0 then 'prep' when i % 100 < 95 then 'model' when i % 100 < 99 then 'agg' else 'summary' end`.execute(
        db,
      );
      await sql`insert into task_dependency (upstream_task_id, downstream_task_id)
                select u.id, d.id from task d join task u on u.workflow_id = d.workflow_id and u.task_hash = 'h' || (substr(d.task_hash, 2)::int - 1)
                 where d.workflow_id = ${w}`.execute(db);
      // Bind keeps these counts (migration 0019); tasks inserted by hand need theirs too.
      await sql`insert into task_status_count (workflow_id, array_id, status, ready, n)
                select workflow_id, array_id, status, status in ('G','A') and upstream_remaining = 0, count(*)
                  from task where workflow_id = ${w} group by 1, 2, 3, 4`.execute(db);
      const run = (
        await sql<{
          id: number;
        }>`insert into workflow_run (workflow_id, "user", jobmon_version, status, temporal_workflow_id)
        values (${w}, 'bench', 'bench', ${args === 'history' ? 'D' : 'R'}, ${'jobmon-workflow-' + w}) returning id`.execute(
          db,
        )
      ).rows[0].id;
      const arr = (await sql<{ id: number }>`select min(id) as id from array_ where workflow_id = ${w}`.execute(db))
        .rows[0].id;
      const batch = (
        await sql<{
          id: number;
        }>`insert into task_batch (workflow_run_id, workflow_id, array_id, task_resources_id, cluster_name, size, status)
        values (${run}, ${w}, ${arr}, ${res}, 'dummy', ${n}, 'S') returning id`.execute(db)
      ).rows[0].id;
      await sql`insert into task_instance (workflow_run_id, workflow_id, task_id, array_id, batch_id, array_step_id, task_resources_id, status,
                                           submitted_date, started_date, ended_date, wallclock_s, maxrss_bytes, cpu_s, nodename, exit_code)
        select ${run}, ${w}, k.id, k.array_id, ${batch}, row_number() over (), ${res},
               case when k.status = 'D' then 'D' when k.status = 'R' then 'R' when k.status = 'F' then 'E' else 'Q' end,
               now() - interval '2 hours', case when k.status in ('D','R','F') then now() - interval '90 minutes' end,
               case when k.status in ('D','F') then now() - interval '90 minutes' + (k.id % 3600) * interval '1 second' end,
               case when k.status in ('D','F') then 60 + (k.id % 300) end, 1e9 + (k.id % 1000) * 1e6, 50 + (k.id % 200), 'node-' || (k.id % 40),
               case when k.status = 'F' then 1 when k.status = 'D' then 0 end
          from task k where k.workflow_id = ${w}`.execute(db);
      // Earlier failed attempts: 5,000 tasks (num_attempts = 2) had one error each, 1 in 5 a resource error.
      await sql`insert into task_instance (workflow_run_id, workflow_id, task_id, array_id, batch_id, array_step_id, task_resources_id, status,
                                           submitted_date, started_date, ended_date, wallclock_s, maxrss_bytes, cpu_s, exit_code)
        select ${run}, ${w}, k.id, k.array_id, ${batch}, ${n} + row_number() over (), ${res}, case when k.id % 5 = 0 then 'Z' else 'E' end,
               now() - interval '3 hours', now() - interval '3 hours', now() - interval '170 minutes', 120, 3e9, 100, case when k.id % 5 = 0 then 137 else 1 end
          from task k where k.workflow_id = ${w} and k.num_attempts = 2`.execute(db);
      await sql`insert into task_instance_error_log (task_instance_id, error_time, description)
        select ti.id, ti.ended_date,
               case when ti.status = 'Z' then 'slurm: job ' || ti.id || ' OUT_OF_MEMORY (oom-kill) on node-' || (ti.id % 40)
                    when ti.task_id % 3 = 0 then 'command exited with code 1\nstderr (last lines):\nFileNotFoundError: [Errno 2] No such file or directory: ''/mnt/share/data/loc_' || ti.task_id || '.csv'''
                    when ti.task_id % 3 = 1 then 'command exited with code 1\nstderr (last lines):\nValueError: negative draw ' || (ti.task_id * 0.37) || ' in 0x' || to_hex(ti.id::int)
                    else 'command exited with code 1\nstderr (last lines):\nModuleNotFoundError: No module named ''scipy''' end
          from task_instance ti where ti.workflow_id = ${w} and ti.status in ('E','Z')`.execute(db);
      if (args === 'bench-100k') wf = w;
    }
    await sql`analyze`.execute(db);
    console.log(`built synthetic data in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const time = async (label: string, fn: () => Promise<unknown>) => {
    await fn();
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = process.hrtime.bigint();
      await fn();
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((a, b) => a - b);
    console.log(
      `${label.padEnd(42)} median ${ms[2].toFixed(1).padStart(7)} ms   max ${ms[4].toFixed(1).padStart(7)} ms`,
    );
  };
  const id = wf as number;
  const { rows } = await sql<{ t: number; i: number; e: number }>`
    select (select count(*) from task where workflow_id = ${id})::int as t, (select count(*) from task_instance where workflow_id = ${id})::int as i,
           (select count(*) from task_instance_error_log e join task_instance ti on ti.id = e.task_instance_id where ti.workflow_id = ${id})::int as e`.execute(
    db,
  );
  console.log(`workflow ${id}: ${rows[0].t} tasks, ${rows[0].i} instances, ${rows[0].e} errors`);
  await time('status (GET /workflows/:id/status)', () => getWorkflowStatus(db, config, id));
  await time('progress + ETA + risks (/progress)', () => getWorkflowProgress(db, config, id));
  await time('error groups (/error-groups)', () => groupWorkflowErrors(db, id));
  await time('recent errors (/errors)', () => listWorkflowErrors(db, id, { limit: 20 }));
  await time('task list page (/tasks?status=F)', () =>
    workflowTasksPageJson(db, config, id, { status: 'F', limit: 100 }),
  );
  await time('template DAG (/template-dag, cached)', () => templateDag(db, id));
  await time('search (/search/workflows)', () => searchWorkflows(db, { tool: 'bench' }));
  await time('resources usage (model, 5k history)', () => templateUsage(db, { template: 'model', tool: 'bench' }));
  await time('resource retries (/resource-retries)', () => resourceRetries(db, id));
  const p = await getWorkflowProgress(db, config, id);
  console.log(`progress summary: ${p.summary}; risks: ${p.risks.map((r) => r.kind).join(', ')}`);
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
