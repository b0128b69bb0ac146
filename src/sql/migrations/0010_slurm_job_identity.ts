/**
 * Slurm jobs run as the workflow owner's account (docs/slurm.md, "Identity"), no longer as one job
 * user for everybody. The `slurm` cluster of 0005 named that one user (`"user": "jmtuser"`); it now
 * maps owners instead: everyone runs as the account of their own name, except `root` — the API user
 * of a local single-user install run by root, e.g. on the one-node demo cluster of
 * scripts/slurm-up.sh — whose jobs run as the demo account `jmtuser` (a job never runs as root).
 *
 * Only a row still holding exactly 0005's default user is changed: a site that configured its own
 * `user` or `user_map` keeps what it chose.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update cluster
       set connection_parameters = (connection_parameters - 'user') || '{"user_map": {"root": "jmtuser"}}'::jsonb
     where name = 'slurm' and cluster_type = 'slurm'
       and connection_parameters->>'user' = 'jmtuser' and not connection_parameters ? 'user_map';
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    update cluster
       set connection_parameters = (connection_parameters - 'user_map') || '{"user": "jmtuser"}'::jsonb
     where name = 'slurm' and cluster_type = 'slurm'
       and connection_parameters->'user_map' = '{"root": "jmtuser"}'::jsonb and not connection_parameters ? 'user';
  `.execute(db);
}
