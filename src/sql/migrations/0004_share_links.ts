/**
 * Observers (issue 6): revocable read-only share links, and the indexes the observer queries need
 * to stay fast at 100,000 tasks.
 *
 * - `share_link` stores only the SHA-256 of a token (the token itself is shown once, at creation),
 *   scoped to one workflow, with an expiry and a revocation date.
 * - `task_instance_workflow_ended`: progress (recent throughput, last completion, CPU-hours) and
 *   the error/log summaries reach a workflow's instances by workflow id instead of through runs.
 * - `task_instance_done_history`: ETA and resource history read the latest DONE instances of a
 *   template's arrays (across workflows) from the index alone.
 * - `array_template_version`: from a template to its arrays in every workflow.
 * - `task_array_node_args`: history of the same node args of a template (ETA, resources).
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table share_link (
      id serial primary key,
      workflow_id int not null references workflow(id) on delete cascade,
      token_sha256 text not null unique,
      created_by text not null,
      created_date timestamptz not null default now(),
      expires_date timestamptz not null,
      revoked_date timestamptz,
      revoked_by text
    );
    create index share_link_workflow on share_link(workflow_id, id desc);
    create index task_instance_workflow_ended on task_instance(workflow_id, ended_date);
    create index task_instance_done_history on task_instance(array_id, id desc)
      include (task_id, wallclock_s, maxrss_bytes, cpu_s, task_resources_id) where status = 'D';
    create index array_template_version on array_(task_template_version_id);
    create index task_array_node_args on task(array_id, node_args_hash);
  `.execute(db);
}
