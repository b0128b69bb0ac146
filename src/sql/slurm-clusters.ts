/** The Slurm clusters and their connection parameters (for `jmt doctor`). */
import type { Db } from './db';

export async function slurmClusters(db: Db): Promise<{ name: string; params: Record<string, unknown> }[]> {
  const rows = await db
    .selectFrom('cluster')
    .select(['name', 'connection_parameters'])
    .where('cluster_type', '=', 'slurm')
    .orderBy('name')
    .execute();
  return rows.map((r) => ({ name: r.name, params: (r.connection_parameters ?? {}) as Record<string, unknown> }));
}
