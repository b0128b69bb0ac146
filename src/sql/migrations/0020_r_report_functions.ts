/**
 * A worker-node report in one statement (issue 16): `running`, `done` and `error` were each a
 * transaction of six round trips (begin, lock the instance, lock the task, update both, commit), and
 * writing those statements to Postgres' socket was the services' largest cost per task. These
 * functions do the same work server-side, so a report — or a batch of them, one function call per
 * row of an `unnest` (src/sql/task-instance-reports.ts) — is one round trip.
 *
 * - The FSM stays in src/domain/fsm.ts: callers pass the allowed source statuses as strings of
 *   status letters (`p_ti_from`, `p_task_from`), derived from its tables. What the task becomes
 *   after an error (`p_retry` below max_attempts, `p_exhausted` at it) comes from
 *   taskStatusAfterInstanceError in the same way.
 * - Locks in the order every report takes them: task_instance, then task, then the downstream
 *   tasks in id order (two completions sharing a fan-in task must not deadlock).
 * - The status counters (migration 0019) are kept by their trigger on every UPDATE of task, as
 *   before. An error moves the task straight to its next status in one update where the old path
 *   passed through E in two: the counters' net change is the same.
 * - Log paths are built as Node's path.join / path.resolve built them (`jmt_path_normalize`: POSIX
 *   normalisation of an absolute path; test/api/report-functions.test.ts compares the two).
 * - `p_batch`: a job token's batch; an instance of another batch is refused (`forbidden`). Null for
 *   callers already authorised (an admin, the single-report routes whose middleware checked it).
 * - Expected refusals are outcomes, not exceptions, so one refused item of a batch does not abort
 *   the others: `missing`, `forbidden`, `other_job`, `not_runnable` (running), `unchanged` (a late
 *   or repeated end report, which changes nothing).
 */
import { type Kysely, sql } from 'kysely';

// Long: the three functions are one schema change, shipped together and never edited.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function jmt_path_normalize(p text) returns text
    language plpgsql immutable strict parallel safe as $$
    declare
      parts text[] := '{}';
      seg text;
    begin
      foreach seg in array string_to_array(p, '/') loop
        if seg = '' or seg = '.' then
          continue;
        elsif seg = '..' then
          parts := parts[1:cardinality(parts) - 1]; -- at the root, '..' stays there
        else
          parts := parts || seg;
        end if;
      end loop;
      return '/' || array_to_string(parts, '/');
    end $$;

    -- The scheduler has work: a task is ready, or nothing is in flight any more (the run may be
    -- over). The one definition, also read by src/sql/scheduling.ts runHasWork.
    create function jmt_run_has_work(p_workflow_id int) returns boolean
    language sql stable as $$
      select exists(select 1 from task where workflow_id = p_workflow_id and status in ('G','A') and upstream_remaining = 0)
          or not exists(select 1 from task where workflow_id = p_workflow_id and status in ('Q','I','O','R'))
    $$;

    create function jmt_report_running(
      p_id bigint, p_batch bigint, p_distributor text, p_nodename text, p_pid int,
      p_report_by_s float8, p_log_dir text, p_cwd text, p_ti_from text, p_task_from text)
    returns table (outcome text, status text, owner text, task_id bigint, workflow_id int, workflow_run_id int,
                   name text, command text, stdout_path text, stderr_path text, working_dir text)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      ti record;
      t record;
      place record;
      dir text;
      base text;
    begin
      select i.id, i.status::text as status, i.distributor_id, i.task_id, i.workflow_id, i.workflow_run_id,
             i.batch_id, i.array_id, i.task_resources_id
        into ti from task_instance i where i.id = p_id for update;
      if not found then
        outcome := 'missing';
        return next;
        return;
      end if;
      status := ti.status;
      if p_batch is not null and ti.batch_id <> p_batch then
        outcome := 'forbidden';
        return next;
        return;
      end if;
      select k.id, k.status::text as status, k.name, k.command into t from task k where k.id = ti.task_id for update;
      if ti.distributor_id is not null and ti.distributor_id <> p_distributor then
        outcome := 'other_job';
        owner := ti.distributor_id;
        return next;
        return;
      end if;
      -- A repeated start report from the same job (an HTTP retry) gets the same answer again.
      if strpos(p_ti_from, ti.status) = 0 and ti.status <> 'R' then
        outcome := 'not_runnable';
        return next;
        return;
      end if;
      select coalesce(a.working_dir, w.working_dir) as working_dir,
             nullif(r.requested_resources->>'stdout', '') as stdout_dir,
             nullif(r.requested_resources->>'stderr', '') as stderr_dir
        into place
        from array_ a, workflow w, task_resources r
       where a.id = ti.array_id and w.id = ti.workflow_id and r.id = ti.task_resources_id;
      -- Jobmon's file names in the stdout/stderr resource directories (relative ones are taken from
      -- the working directory), else under the server's log directory.
      dir := p_log_dir || '/workflow-' || ti.workflow_id;
      base := coalesce(place.working_dir, dir);
      if left(base, 1) <> '/' then
        base := p_cwd || '/' || base;
      end if;
      stdout_path := jmt_path_normalize(
        case when place.stdout_dir is null then dir
             when left(place.stdout_dir, 1) = '/' then place.stdout_dir
             else base || '/' || place.stdout_dir end || '/' || t.name || '.o' || ti.id);
      stderr_path := jmt_path_normalize(
        case when place.stderr_dir is null then dir
             when left(place.stderr_dir, 1) = '/' then place.stderr_dir
             else base || '/' || place.stderr_dir end || '/' || t.name || '.e' || ti.id);
      update task_instance
         set status = 'R', status_date = now(), started_date = coalesce(started_date, now()),
             distributor_id = p_distributor, nodename = p_nodename, process_id = p_pid,
             stdout_path = jmt_report_running.stdout_path, stderr_path = jmt_report_running.stderr_path,
             report_by_date = now() + make_interval(secs => p_report_by_s)
       where id = ti.id;
      if strpos(p_task_from, t.status) > 0 then
        update task set status = 'R', status_date = now() where id = t.id;
      end if;
      outcome := 'ok';
      status := 'R';
      task_id := ti.task_id;
      workflow_id := ti.workflow_id;
      workflow_run_id := ti.workflow_run_id;
      name := t.name;
      command := t.command;
      working_dir := place.working_dir;
      return next;
    end $$;

    create function jmt_report_end(
      p_id bigint, p_batch bigint, p_to text, p_ti_from text, p_task_from text, p_retry text, p_exhausted text,
      p_message text, p_exit_code int, p_wallclock_s float8, p_maxrss_bytes bigint, p_cpu_s float8,
      p_stdout_tail text, p_stderr_tail text, p_nodename text)
    returns table (outcome text, status text, workflow_id int, run_has_work boolean, task_id bigint,
                   task_status text, num_attempts int)
    language plpgsql as $$
    #variable_conflict use_column
    declare
      ti record;
      t record;
    begin
      select i.id, i.status::text as status, i.task_id, i.workflow_id, i.batch_id
        into ti from task_instance i where i.id = p_id for update;
      if not found then
        outcome := 'missing';
        return next;
        return;
      end if;
      status := ti.status;
      workflow_id := ti.workflow_id;
      task_id := ti.task_id;
      run_has_work := false;
      if p_batch is not null and ti.batch_id <> p_batch then
        outcome := 'forbidden';
        return next;
        return;
      end if;
      if strpos(p_ti_from, ti.status) = 0 then
        outcome := 'unchanged';
        return next;
        return;
      end if;
      select k.status::text as status, k.num_attempts, k.max_attempts into t from task k where k.id = ti.task_id for update;
      update task_instance
         set status = p_to, status_date = now(), report_by_date = null, ended_date = now(),
             exit_code = p_exit_code, wallclock_s = p_wallclock_s, maxrss_bytes = p_maxrss_bytes, cpu_s = p_cpu_s,
             stdout_tail = p_stdout_tail, stderr_tail = p_stderr_tail,
             nodename = coalesce(nullif(p_nodename, ''), nodename)
       where id = ti.id;
      if p_message is not null then
        insert into task_instance_error_log (task_instance_id, description) values (ti.id, p_message);
      end if;
      task_status := t.status;
      if strpos(p_task_from, t.status) > 0 then
        task_status := case when p_to = 'D' then 'D'
                            when t.num_attempts >= t.max_attempts then p_exhausted
                            else p_retry end;
        update task set status = task_status, status_date = now() where id = ti.task_id;
        if task_status = 'D' then
          -- Downstream rows locked in id order first (see releaseDownstream); leaves have none.
          perform 1 from task d
            where d.id in (select downstream_task_id from task_dependency where upstream_task_id = ti.task_id)
            order by d.id for update of d;
          if found then
            update task d set upstream_remaining = d.upstream_remaining - 1
             where d.id in (select downstream_task_id from task_dependency where upstream_task_id = ti.task_id);
          end if;
        end if;
      end if;
      outcome := 'applied';
      status := p_to;
      num_attempts := t.num_attempts;
      run_has_work := jmt_run_has_work(ti.workflow_id);
      return next;
    end $$;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop function jmt_report_end(bigint, bigint, text, text, text, text, text, text, int, float8, bigint, float8, text, text, text);
    drop function jmt_report_running(bigint, bigint, text, text, int, float8, text, text, text, text);
    drop function jmt_run_has_work(int);
    drop function jmt_path_normalize(text);
  `.execute(db);
}
