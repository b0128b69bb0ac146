/**
 * Operator controls (issue 5): the audit log of every control acted on a workflow — who did what,
 * when, to which run, and how it ended. Written by the API after each control (stop, pause,
 * unpause, start/resume, concurrency, set-status, reset), read by `jmt workflow status` and
 * `GET /workflows/:id/events`.
 *
 * - `result` is `ok` or the error code the control was refused with *after* the caller was found
 *   allowed to act (e.g. `run_active`, `tasks_running`); requests refused by auth are not written
 *   here, so no token holder can fill another user's log.
 * - `details` is the control's input and outcome (mode, limits, task counts), free-form JSON so a
 *   new control needs no migration.
 * - `workflow_event_workflow`: the only read is "latest events of one workflow".
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table workflow_event (
      id bigserial primary key,
      workflow_id int not null references workflow(id) on delete cascade,
      workflow_run_id int references workflow_run(id) on delete set null,
      "user" text not null,
      action text not null,
      result text not null default 'ok',
      details jsonb not null default '{}',
      created_date timestamptz not null default now()
    );
    create index workflow_event_workflow on workflow_event(workflow_id, id desc);
  `.execute(db);
}
