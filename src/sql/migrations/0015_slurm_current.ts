/**
 * The seeded `slurm` cluster (0005) now means the Slurm 24.11 cluster `npm run slurm:up` brings up
 * by default (scripts/slurm-up-24.11.sh): its client commands live in the trixie root and are run
 * from the host through the wrappers in `bin_dir` (the host's own Slurm 22.05 clients cannot talk
 * to 24.11), and slurmd's log is readable there, so a launch failure is reported with slurmd's
 * message. The OpenAPI version is no longer pinned: the distributor picks it from `/openapi/v3`.
 * Only a row still carrying the seed's parameters is changed; a site's own configuration is left.
 */
import { type Kysely, sql } from 'kysely';

const SEED = { mode: 'rest', rest_url: 'http://127.0.0.1:6820', user: 'jmtuser' };
const CURRENT = {
  ...SEED,
  bin_dir: '/var/lib/jmt-slurm/24.11/bin',
  slurmd_log: '/var/lib/jmt-slurm/24.11/root/var/log/slurm/slurmd-%n.log',
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update cluster set connection_parameters = ${JSON.stringify(CURRENT)}::jsonb
     where name = 'slurm' and connection_parameters = ${JSON.stringify(SEED)}::jsonb`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    update cluster set connection_parameters = ${JSON.stringify(SEED)}::jsonb
     where name = 'slurm' and connection_parameters = ${JSON.stringify(CURRENT)}::jsonb`.execute(db);
}
