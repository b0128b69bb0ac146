/**
 * Submitted, unfinished batches whose distributor array may still hold queued tasks, with the limit
 * their array throttle should now have: the smaller of the array's (template's) and the workflow's
 * concurrency limits. Read after an operator changed a limit at run time.
 */
import { sql } from 'kysely';
import type { Db } from './db';

export interface ArrayThrottleGroup {
  clusterName: string;
  clusterType: string;
  connectionParameters: Record<string, unknown>;
  limit: number;
  arrayIds: string[];
}

export async function queuedArrayThrottles(
  db: Db,
  workflowId: number,
  template?: string,
): Promise<ArrayThrottleGroup[]> {
  const rows = await sql<{
    distributor_array_id: string;
    cluster_name: string;
    cluster_type: string;
    connection_parameters: Record<string, unknown>;
    throttle: number;
  }>`
    select b.distributor_array_id, c.name as cluster_name, c.cluster_type, c.connection_parameters,
           least(a.max_concurrently_running, w.max_concurrently_running) as throttle
      from task_batch b
      join array_ a on a.id = b.array_id
      join workflow w on w.id = b.workflow_id
      join cluster c on c.name = b.cluster_name
      join task_template_version ttv on ttv.id = a.task_template_version_id
      join task_template tt on tt.id = ttv.task_template_id
     where b.workflow_id = ${workflowId} and b.status = 'S' and b.distributor_array_id is not null
       and (${template ?? null}::text is null or tt.name = ${template ?? null})`.execute(db);
  const groups = new Map<string, ArrayThrottleGroup>();
  for (const r of rows.rows) {
    const key = `${r.cluster_name}\u0000${r.throttle}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        clusterName: r.cluster_name,
        clusterType: r.cluster_type,
        connectionParameters: r.connection_parameters,
        limit: Number(r.throttle),
        arrayIds: [],
      };
      groups.set(key, g);
    }
    g.arrayIds.push(r.distributor_array_id);
  }
  return [...groups.values()];
}
