/**
 * A draft's commit marks it first (`committing_since`): chunks that arrive after the mark are
 * refused with 409 `draft_committing` instead of being acknowledged and then deleted with the
 * draft (src/sql/bind-store.ts). The expiry sweep reads the same column and `created_date`.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table bind_draft add column committing_since timestamptz;
    create index bind_draft_age on bind_draft ((coalesce(committing_since, created_date)));
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index bind_draft_age;
    alter table bind_draft drop column committing_since;
  `.execute(db);
}
