/**
 * Operator grants (issue 5): "operators act on workflows they own or were granted". One row lets
 * `user` steer workflow `workflow_id` as its owner could (stop, resume, concurrency, set-status,
 * reset, share links); only the owner or an admin adds or removes rows, so a grantee cannot pass
 * the workflow on. A grant gives no role: an observer who is granted stays read-only.
 *
 * - Keyed (workflow_id, user): a user is granted a workflow once; the owner check is a primary-key
 *   lookup, so it costs nothing on every control.
 * - `granted_by` and `created_date` say who opened the door and when (the audit log has the
 *   history of grants and revocations, this table only the grants in force).
 * - `on delete cascade`: a grant means nothing without its workflow.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table workflow_grant (
      workflow_id int not null references workflow(id) on delete cascade,
      "user" text not null,
      granted_by text not null,
      created_date timestamptz not null default now(),
      primary key (workflow_id, "user")
    );
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table workflow_grant`.execute(db);
}
