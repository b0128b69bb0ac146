/**
 * The clusters and queues binding validates against. Both tables are tiny (a handful of rows), so
 * they are read whole once per bind call instead of queried per task.
 */
import type { Kysely } from 'kysely';
import type { ClusterCatalog } from '../domain/bind-checks';
import type { QueueLimits } from '../domain/resources';
import type { Database } from './schema';

export async function loadClusterCatalog(db: Kysely<Database>): Promise<ClusterCatalog> {
  const clusters = await db.selectFrom('cluster').select(['id', 'name']).execute();
  const queues = await db.selectFrom('queue').select(['cluster_id', 'name', 'parameters']).execute();
  const byId = new Map<number, Map<string, QueueLimits>>();
  const catalog = new Map<string, Map<string, QueueLimits>>();
  for (const c of clusters) {
    const q = new Map<string, QueueLimits>();
    byId.set(c.id, q);
    catalog.set(c.name, q);
  }
  for (const q of queues) byId.get(q.cluster_id)?.set(q.name, q.parameters as QueueLimits);
  return catalog;
}

export interface ClusterListing {
  name: string;
  cluster_type: string;
  queues: { name: string; limits: QueueLimits }[];
}

/** Every cluster with its type and queues (limits in canonical units), by name. */
export async function listClusters(db: Kysely<Database>): Promise<ClusterListing[]> {
  const clusters = await db.selectFrom('cluster').select(['id', 'name', 'cluster_type']).orderBy('name').execute();
  const queues = await db.selectFrom('queue').select(['cluster_id', 'name', 'parameters']).orderBy('name').execute();
  return clusters.map((c) => ({
    name: c.name,
    cluster_type: c.cluster_type,
    queues: queues
      .filter((q) => q.cluster_id === c.id)
      .map((q) => ({ name: q.name, limits: q.parameters as QueueLimits })),
  }));
}
