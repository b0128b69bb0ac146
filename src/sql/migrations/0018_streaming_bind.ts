/**
 * Streaming bind without a superuser (issue 18).
 *
 * - `bind_draft_task` / `bind_draft_resource`: a draft's tasks, checked and resolved (command,
 *   identity hashes, resources) when their chunk arrives, one row per task instead of one JSON
 *   document per chunk. Commit then checks the DAG and writes the workflow with set-based
 *   `insert ... select` from these rows; no task passes through the API process a second time.
 *   They carry no foreign key to `bind_draft` (a per-row check on a million rows); a row trigger
 *   on `bind_draft` removes a draft's rows when the draft goes (commit, refusal, DELETE, expiry).
 * - `bind_draft_chunk` keeps one row per chunk (offset, size, templates used) so that commit can
 *   check the chunks tile the request without reading any task; its `tasks` JSON goes. Drafts in
 *   flight at the upgrade are dropped (their client gets 404 on its next chunk and binds again;
 *   binding again is idempotent by identity).
 * - The foreign keys of the three tables with a row per task or per edge go: `task` (workflow,
 *   array, both resources), `task_dependency` (both tasks), `task_attribute` (task). Postgres
 *   checks a foreign key with a row trigger per inserted row — 6.8 million checks for a
 *   1,000,000-task, 1,900,000-edge bind, more than half its database time — and the only way to
 *   skip them was `session_replication_role = replica`, which needs a superuser. Bind is the only
 *   writer of these rows and derives every reference in the same statement from rows it has just
 *   written or joined (`insert ... select ... join`), so a reference cannot dangle; nothing ever
 *   deletes a workflow or a task, so the cascades were never used.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    delete from bind_draft;
    alter table bind_draft_chunk drop column tasks;
    alter table bind_draft_chunk add column num_tasks int not null default 0;
    alter table bind_draft_chunk add column templates text[] not null default '{}';

    create table bind_draft_task (
      draft_id uuid not null,
      idx int not null,
      key text not null,
      template text not null,
      name text not null,
      task_hash text not null,
      node_args_hash text not null,
      node_args jsonb not null,
      task_args jsonb not null,
      op_args jsonb not null,
      command text not null,
      resources_hash text not null,
      resource_scales jsonb not null,
      fallback_queues jsonb not null,
      max_attempts int not null,
      attributes jsonb,
      upstream text[] not null,
      primary key (draft_id, idx)
    );
    -- What tells a draft's tasks apart: checked by the insert of each chunk, across chunks.
    create unique index bind_draft_task_key on bind_draft_task (draft_id, key);
    create unique index bind_draft_task_node on bind_draft_task (draft_id, template, node_args_hash);

    create table bind_draft_resource (
      draft_id uuid not null,
      hash text not null,
      cluster_name text not null,
      queue text not null,
      requested jsonb not null,
      primary key (draft_id, hash)
    );

    create function bind_draft_rows_gone() returns trigger language plpgsql as $$
    begin
      delete from bind_draft_task where draft_id = old.id;
      delete from bind_draft_resource where draft_id = old.id;
      return null;
    end $$;
    create trigger bind_draft_rows_gone after delete on bind_draft
      for each row execute function bind_draft_rows_gone();

    alter table task drop constraint task_workflow_id_fkey;
    alter table task drop constraint task_array_id_fkey;
    alter table task drop constraint task_original_resources_id_fkey;
    alter table task drop constraint task_task_resources_id_fkey;
    alter table task_dependency drop constraint task_dependency_upstream_task_id_fkey;
    alter table task_dependency drop constraint task_dependency_downstream_task_id_fkey;
    alter table task_attribute drop constraint task_attribute_task_id_fkey;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table task add constraint task_workflow_id_fkey foreign key (workflow_id) references workflow(id) on delete cascade;
    alter table task add constraint task_array_id_fkey foreign key (array_id) references array_(id);
    alter table task add constraint task_original_resources_id_fkey foreign key (original_resources_id) references task_resources(id);
    alter table task add constraint task_task_resources_id_fkey foreign key (task_resources_id) references task_resources(id);
    alter table task_dependency add constraint task_dependency_upstream_task_id_fkey foreign key (upstream_task_id) references task(id) on delete cascade;
    alter table task_dependency add constraint task_dependency_downstream_task_id_fkey foreign key (downstream_task_id) references task(id) on delete cascade;
    alter table task_attribute add constraint task_attribute_task_id_fkey foreign key (task_id) references task(id) on delete cascade;
    drop trigger bind_draft_rows_gone on bind_draft;
    drop function bind_draft_rows_gone();
    drop table bind_draft_resource;
    drop table bind_draft_task;
    delete from bind_draft;
    alter table bind_draft_chunk drop column templates;
    alter table bind_draft_chunk drop column num_tasks;
    alter table bind_draft_chunk add column tasks json not null;
  `.execute(db);
}
