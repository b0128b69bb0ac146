/**
 * The `slurm` cluster and its partitions as queues. The limits are those `scripts/slurm-up.sh`
 * writes into slurm.conf (debug: MaxTime=60 min, MaxMemPerNode=1024 MB; long: no limits beyond the
 * node), so binding refuses what the partitions could never run and resource retries move to a
 * fallback queue when a scaled request outgrows one. Another cluster's partitions are registered
 * the same way (docs/slurm.md, "Cluster configuration").
 *
 * connection_parameters: submission through slurmrestd on loopback; jobs run as `jmtuser`.
 */
import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    insert into cluster (name, cluster_type, connection_parameters) values
      ('slurm', 'slurm', '{"mode": "rest", "rest_url": "http://127.0.0.1:6820", "user": "jmtuser"}')
    on conflict (name) do nothing;
    insert into queue (cluster_id, name, parameters)
      select id, 'debug', '{"cores": [1, 64], "memory": [0, 1], "runtime": [1, 3600]}' from cluster where name = 'slurm'
    on conflict (cluster_id, name) do nothing;
    insert into queue (cluster_id, name, parameters)
      select id, 'long', '{"cores": [1, 64], "memory": [0, 1024], "runtime": [1, 31536000]}' from cluster where name = 'slurm'
    on conflict (cluster_id, name) do nothing;
  `.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    delete from queue where cluster_id in (select id from cluster where name = 'slurm');
    delete from cluster where name = 'slurm';
  `.execute(db);
}
