/**
 * `GET /tasks/{id}`: one task with its arguments, resources, attributes and every attempt (task
 * instance) with its errors — what a user needs to debug a failing task.
 */
import { notFound } from '../../domain/errors';
import { TASK_INSTANCE_STATUSES, TASK_STATUSES } from '../../domain/statuses';
import { iso, isoOrNull } from '../dates';
import type { Db } from '../db';
import type { TaskDetails } from '../../contract/types';
import { jobMemoryMb, WRAPPER_MEMORY_MB } from '../../domain/wrapper-memory';

export type { TaskDetails };

// Long: one read of a task, its attributes, instances and their errors, mapped to the answer field by field.
export async function getTaskDetails(db: Db, taskId: number): Promise<TaskDetails> {
  const task = await db
    .selectFrom('task as k')
    .innerJoin('array_ as a', 'a.id', 'k.array_id')
    .innerJoin('task_template_version as ttv', 'ttv.id', 'a.task_template_version_id')
    .innerJoin('task_template as tt', 'tt.id', 'ttv.task_template_id')
    .innerJoin('task_resources as r', 'r.id', 'k.task_resources_id')
    .leftJoin('cluster as c', 'c.name', 'r.cluster_name')
    .select([
      'k.id',
      'k.workflow_id',
      'k.name',
      'tt.name as template',
      'k.status',
      'k.status_date',
      'k.command',
      'k.num_attempts',
      'k.max_attempts',
      'k.node_args',
      'k.task_args',
      'k.op_args',
      'r.cluster_name',
      'r.queue',
      'r.requested_resources',
      'c.cluster_type',
      'k.upstream_count',
      'k.upstream_remaining',
    ])
    .where('k.id', '=', taskId)
    .executeTakeFirst();
  if (!task) throw notFound('task', taskId, 'id');

  const [attributes, instances] = await Promise.all([
    db.selectFrom('task_attribute').select(['key', 'value']).where('task_id', '=', taskId).orderBy('key').execute(),
    db
      .selectFrom('task_instance')
      .select([
        'id',
        'workflow_run_id',
        'status',
        'distributor_id',
        'nodename',
        'exit_code',
        'wallclock_s',
        'maxrss_bytes',
        'stdout_path',
        'stderr_path',
        'submitted_date',
        'status_date',
      ])
      .where('task_id', '=', taskId)
      .orderBy('id')
      .execute(),
  ]);
  const errors = instances.length
    ? await db
        .selectFrom('task_instance_error_log')
        .select(['task_instance_id', 'error_time', 'description'])
        .where(
          'task_instance_id',
          'in',
          instances.map((i) => i.id),
        )
        .orderBy('id')
        .execute()
    : [];
  const errorsByInstance = new Map<number, { error_time: string; description: string }[]>();
  for (const e of errors) {
    const key = Number(e.task_instance_id);
    const list = errorsByInstance.get(key) ?? [];
    list.push({ error_time: iso(e.error_time), description: e.description });
    errorsByInstance.set(key, list);
  }

  return {
    task: {
      id: Number(task.id),
      workflow_id: task.workflow_id,
      name: task.name,
      template: task.template,
      status: task.status,
      status_label: TASK_STATUSES[task.status],
      status_date: iso(task.status_date),
      command: task.command,
      num_attempts: task.num_attempts,
      max_attempts: task.max_attempts,
      node_args: task.node_args,
      task_args: task.task_args,
      op_args: task.op_args,
      cluster_name: task.cluster_name,
      queue: task.queue,
      resources: task.requested_resources as Record<string, unknown>,
      memory_request: memoryRequest(task.cluster_type, task.requested_resources as Record<string, unknown>),
      upstream_count: task.upstream_count,
      upstream_remaining: task.upstream_remaining,
      attributes: Object.fromEntries(attributes.map((a) => [a.key, a.value])),
    },
    instances: instances.map((i) => ({
      id: Number(i.id),
      workflow_run_id: i.workflow_run_id,
      status: i.status,
      status_label: TASK_INSTANCE_STATUSES[i.status],
      distributor_id: i.distributor_id,
      nodename: i.nodename,
      exit_code: i.exit_code,
      wallclock_s: i.wallclock_s,
      maxrss_bytes: i.maxrss_bytes === null ? null : Number(i.maxrss_bytes),
      stdout_path: i.stdout_path,
      stderr_path: i.stderr_path,
      submitted_date: isoOrNull(i.submitted_date),
      status_date: iso(i.status_date),
      errors: errorsByInstance.get(Number(i.id)) ?? [],
    })),
  };
}

/** What a Slurm job of this task asks for: the task's memory plus the wrapper's share (as the distributor sends it). */
function memoryRequest(
  clusterType: string | null,
  resources: Record<string, unknown>,
): TaskDetails['task']['memory_request'] {
  const memory = resources.memory;
  if (clusterType !== 'slurm' || typeof memory !== 'number' || memory <= 0) return null;
  const job = jobMemoryMb(memory);
  return { task_mb: job - WRAPPER_MEMORY_MB, wrapper_mb: WRAPPER_MEMORY_MB, job_mb: job };
}
