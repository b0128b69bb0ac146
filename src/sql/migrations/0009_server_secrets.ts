/**
 * Secrets the server keeps for itself (issue 9). The first is `job_token_key`: the HMAC key behind
 * the job tokens handed to the worker-node wrappers (src/domain/job-tokens.ts). It lives in Postgres
 * because every API replica must verify what every worker minted, and the database is the one thing
 * they all share; whoever can read this table can already rewrite every status in the others.
 *
 * Rows are created on first use (src/sql/server-secrets.ts), not here, so a restored dump or a
 * deleted row simply gets a fresh key. Deleting the row is how the key is rotated.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table server_secret (
      name text primary key,
      value bytea not null,
      created_date timestamptz not null default now()
    );
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table server_secret`.execute(db);
}
