/**
 * ADJUSTING_RESOURCES: after a resource error the task's next attempt asks for more, scaled by its
 * resource_scales and moved to a fallback queue when the current one cannot take the request.
 * A new task_resources row (type A) is written; rows are immutable so every instance keeps a
 * record of exactly what it asked for.
 */
import { createHash } from 'node:crypto';
import { chooseQueue, resourcesKey, scaleResources, type QueueLimits, type Resources } from '../domain/resources';
import type { Tx } from './db';

export async function adjustTaskResources(tx: Tx, taskId: number, failedAttempt: number): Promise<void> {
  const task = await tx
    .selectFrom('task')
    .innerJoin('task_resources', 'task_resources.id', 'task.task_resources_id')
    .select([
      'task.resource_scales',
      'task.fallback_queues',
      'task_resources.cluster_name',
      'task_resources.requested_resources',
    ])
    .where('task.id', '=', taskId)
    .executeTakeFirstOrThrow();
  const queues = await tx
    .selectFrom('queue')
    .innerJoin('cluster', 'cluster.id', 'queue.cluster_id')
    .select(['queue.name', 'queue.parameters'])
    .where('cluster.name', '=', task.cluster_name)
    .execute();
  const limits = new Map<string, QueueLimits>(queues.map((q) => [q.name, q.parameters as QueueLimits]));
  const scaled = scaleResources(task.requested_resources as Resources, task.resource_scales, failedAttempt);
  const next = chooseQueue(scaled, task.fallback_queues as string[], (q) => limits.get(q));
  const hash = createHash('sha256').update(resourcesKey(task.cluster_name, next)).update('A').digest('hex');
  await tx
    .insertInto('task_resources')
    .values({
      hash,
      cluster_name: task.cluster_name,
      queue: next.queue,
      resources_type: 'A',
      requested_resources: JSON.stringify(next),
    })
    .onConflict((oc) => oc.column('hash').doNothing())
    .execute();
  const row = await tx.selectFrom('task_resources').select('id').where('hash', '=', hash).executeTakeFirstOrThrow();
  await tx.updateTable('task').set({ task_resources_id: row.id }).where('id', '=', taskId).execute();
}
