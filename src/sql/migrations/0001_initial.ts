/**
 * Initial schema. Forward-only: later changes are new files, never edits of this one.
 *
 * Deviations from Jobmon's tables, on purpose:
 * - No shared `node`/`dag`/`edge` rows: a task stores its node_args (and their hash) itself and
 *   dependencies are task→task rows. Identity is kept as hashes on `workflow` (task_hash, dag_hash),
 *   which is all resume needs, and binding 100,000 tasks becomes a handful of bulk inserts.
 * - `task.upstream_remaining` counts upstream tasks not yet DONE, maintained in the same statement
 *   that moves a task to DONE, so "ready" is an indexed lookup instead of a join over all edges.
 * - `task_batch` groups the task instances submitted together (one distributor array).
 */
import { type Kysely, sql } from 'kysely';

const letters = (values: string) =>
  sql.raw(
    `(${values
      .split('')
      .map((v) => `'${v}'`)
      .join(',')})`,
  );

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table cluster (
      id serial primary key,
      name text not null unique,
      cluster_type text not null,
      connection_parameters jsonb not null default '{}'
    );
    create table queue (
      id serial primary key,
      cluster_id int not null references cluster(id),
      name text not null,
      parameters jsonb not null default '{}',
      unique (cluster_id, name)
    );
    create table tool (
      id serial primary key,
      name text not null unique
    );
    create table tool_version (
      id serial primary key,
      tool_id int not null references tool(id),
      created_date timestamptz not null default now()
    );
    create index tool_version_tool on tool_version(tool_id);
    create table task_template (
      id serial primary key,
      tool_version_id int not null references tool_version(id),
      name text not null,
      unique (tool_version_id, name)
    );
    create table task_template_version (
      id serial primary key,
      task_template_id int not null references task_template(id),
      command_template text not null,
      node_args text[] not null,
      task_args text[] not null,
      op_args text[] not null,
      arg_mapping_hash text not null,
      unique (task_template_id, arg_mapping_hash)
    );
    create table workflow (
      id serial primary key,
      tool_version_id int not null references tool_version(id),
      workflow_args text not null,
      workflow_args_hash text not null,
      task_hash text not null,
      dag_hash text not null,
      name text not null default '',
      description text not null default '',
      "user" text not null,
      max_concurrently_running int not null default 2147483647 check (max_concurrently_running >= 0),
      default_cluster_name text not null,
      num_tasks int not null default 0,
      status char(1) not null default 'G' check (status in ${letters('GQAIORDHF')}),
      status_date timestamptz not null default now(),
      created_date timestamptz not null default now(),
      unique (tool_version_id, workflow_args_hash, task_hash, dag_hash)
    );
    create index workflow_args_lookup on workflow(tool_version_id, workflow_args_hash);
    create index workflow_user on workflow("user", created_date desc);
    create table workflow_attribute (
      workflow_id int not null references workflow(id) on delete cascade,
      key text not null,
      value text not null,
      primary key (workflow_id, key)
    );
    create index workflow_attribute_kv on workflow_attribute(key, value);
    create table array_ (
      id serial primary key,
      workflow_id int not null references workflow(id) on delete cascade,
      task_template_version_id int not null references task_template_version(id),
      name text not null,
      max_concurrently_running int not null default 2147483647 check (max_concurrently_running >= 0),
      unique (workflow_id, task_template_version_id)
    );
    create table task_resources (
      id bigserial primary key,
      hash text not null unique,
      cluster_name text not null,
      queue text not null,
      resources_type char(1) not null check (resources_type in ${letters('OVA')}),
      requested_resources jsonb not null,
      created_date timestamptz not null default now()
    );
    create table task (
      id bigserial primary key,
      workflow_id int not null references workflow(id) on delete cascade,
      array_id int not null references array_(id),
      name text not null,
      task_hash text not null,
      node_args_hash text not null,
      node_args jsonb not null,
      task_args jsonb not null,
      op_args jsonb not null,
      command text not null,
      original_resources_id bigint not null references task_resources(id),
      task_resources_id bigint not null references task_resources(id),
      resource_scales jsonb not null,
      fallback_queues jsonb not null default '[]',
      max_attempts int not null check (max_attempts >= 1),
      num_attempts int not null default 0,
      upstream_count int not null default 0,
      upstream_remaining int not null default 0,
      status char(1) not null default 'G' check (status in ${letters('GQIORDEAF')}),
      status_date timestamptz not null default now(),
      unique (workflow_id, task_hash)
    );
    create index task_workflow_status on task(workflow_id, status);
    create index task_ready on task(workflow_id, array_id, task_resources_id)
      where status in ('G','A') and upstream_remaining = 0;
    create index task_array on task(array_id, status);
    create table task_dependency (
      upstream_task_id bigint not null references task(id) on delete cascade,
      downstream_task_id bigint not null references task(id) on delete cascade,
      primary key (upstream_task_id, downstream_task_id)
    );
    create index task_dependency_down on task_dependency(downstream_task_id);
    create table task_attribute (
      task_id bigint not null references task(id) on delete cascade,
      key text not null,
      value text not null,
      primary key (task_id, key)
    );
    create index task_attribute_kv on task_attribute(key, value);
    create table workflow_run (
      id serial primary key,
      workflow_id int not null references workflow(id) on delete cascade,
      "user" text not null,
      jobmon_version text not null,
      status char(1) not null default 'G' check (status in ${letters('GLBAIORDSECHT')}),
      resume_mode text check (resume_mode in ('hot','cold')),
      temporal_workflow_id text not null,
      temporal_run_id text,
      created_date timestamptz not null default now(),
      status_date timestamptz not null default now(),
      heartbeat_date timestamptz not null default now()
    );
    create index workflow_run_workflow on workflow_run(workflow_id, id desc);
    -- At most one run per workflow may be active: this is what makes "no task runs twice" hold
    -- even if two operators resume at the same moment.
    create unique index workflow_run_one_active on workflow_run(workflow_id) where status in ('G','L','B','I','O','R','C','H');
    create table task_batch (
      id bigserial primary key,
      workflow_run_id int not null references workflow_run(id) on delete cascade,
      workflow_id int not null references workflow(id) on delete cascade,
      array_id int not null references array_(id),
      task_resources_id bigint not null references task_resources(id),
      cluster_name text not null,
      size int not null,
      -- Q: created, not submitted; S: submitted to the distributor; D: every instance final.
      status char(1) not null default 'Q' check (status in ('Q','S','D')),
      distributor_array_id text,
      created_date timestamptz not null default now(),
      submitted_date timestamptz,
      finished_date timestamptz
    );
    create index task_batch_active on task_batch(workflow_id, status) where status <> 'D';
    create table task_instance (
      id bigserial primary key,
      workflow_run_id int not null references workflow_run(id) on delete cascade,
      workflow_id int not null references workflow(id) on delete cascade,
      task_id bigint not null references task(id) on delete cascade,
      array_id int not null references array_(id),
      batch_id bigint not null references task_batch(id) on delete cascade,
      array_step_id int not null,
      task_resources_id bigint not null references task_resources(id),
      distributor_id text,
      status char(1) not null default 'Q' check (status in ${letters('QIOBRDEFKTUWXZ')}),
      submitted_date timestamptz,
      -- When the wrapper reported the start and the end: what proves limits and "never twice at once".
      started_date timestamptz,
      ended_date timestamptz,
      status_date timestamptz not null default now(),
      report_by_date timestamptz,
      nodename text,
      process_id int,
      stdout_path text,
      stderr_path text,
      stdout_tail text,
      stderr_tail text,
      exit_code int,
      wallclock_s double precision,
      maxrss_bytes bigint,
      cpu_s double precision,
      unique (batch_id, array_step_id)
    );
    create index task_instance_task on task_instance(task_id, id desc);
    create index task_instance_batch_live on task_instance(batch_id) where status in ('Q','I','O','R','K','T');
    create index task_instance_run_status on task_instance(workflow_run_id, status);
    create table task_instance_error_log (
      id bigserial primary key,
      task_instance_id bigint not null references task_instance(id) on delete cascade,
      error_time timestamptz not null default now(),
      description text not null
    );
    create index task_instance_error_log_ti on task_instance_error_log(task_instance_id);
    -- Chunked binding: tasks wait here until commit validates and binds them in one transaction,
    -- so a failed or abandoned bind leaves no half-bound DAG behind.
    create table bind_draft (
      id uuid primary key,
      "user" text not null,
      spec jsonb not null,
      num_tasks int not null default 0,
      created_date timestamptz not null default now()
    );
    create table bind_draft_chunk (
      draft_id uuid not null references bind_draft(id) on delete cascade,
      seq int not null,
      tasks jsonb not null,
      primary key (draft_id, seq)
    );
  `.execute(db);

  await sql`
    insert into cluster (name, cluster_type, connection_parameters) values
      ('dummy', 'dummy', '{}'),
      ('sequential', 'sequential', '{}'),
      ('multiprocess', 'multiprocess', '{}');
    insert into queue (cluster_id, name, parameters)
      select id, 'null.q', '{"cores": [1, 64], "memory": [0, 1048576], "runtime": [1, 31536000]}' from cluster;
  `.execute(db);
}
