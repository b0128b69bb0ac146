/**
 * The project's resources (memory GiB, runtime s, cores, queue) as a Slurm request, and the check of
 * that request against the partition, so an impossible one is refused with a clear message before
 * it reaches Slurm (binding already checks the queue table's limits; this checks the live cluster).
 */
import type { Resources } from '../../domain/resources';
import { jobMemoryMb, WRAPPER_MEMORY_MB } from '../../domain/wrapper-memory';
import type { PartitionInfo } from './backend';

export interface SlurmRequest {
  partition: string;
  /** What the job asks Slurm for: the task's memory plus the wrapper's share (domain/wrapper-memory.ts). */
  memoryMb?: number;
  /** The task's own request, MB. */
  taskMemoryMb?: number;
  timeLimitMin?: number;
  cpusPerTask?: number;
  account?: string;
  qos?: string;
  constraints?: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export function toSlurmRequest(resources: Resources, partitionMap: Record<string, string>): SlurmRequest {
  const req: SlurmRequest = { partition: partitionMap[resources.queue] ?? resources.queue };
  // Memory GiB → MB plus the wrapper's share (it runs in the job's memory limit too); runtime s →
  // whole minutes, rounded up (Slurm's granularity).
  if (typeof resources.memory === 'number' && resources.memory > 0) {
    req.memoryMb = jobMemoryMb(resources.memory);
    req.taskMemoryMb = req.memoryMb - WRAPPER_MEMORY_MB;
  }
  if (typeof resources.runtime === 'number' && resources.runtime > 0)
    req.timeLimitMin = Math.max(1, Math.ceil(resources.runtime / 60));
  if (typeof resources.cores === 'number') req.cpusPerTask = resources.cores;
  // Jobmon's Slurm plugin submits `project` as the account (IHME's scripts say `project`); an
  // explicit `account` wins when both are given.
  req.account = text(resources.account) ?? text(resources.project);
  req.qos = text(resources.qos);
  req.constraints = text(resources.constraints);
  return req;
}

/** Why Slurm could never run `req` on `partition` (empty when it could). */
export function partitionProblems(req: SlurmRequest, partition: PartitionInfo | undefined): string[] {
  if (!partition) return [`partition "${req.partition}" does not exist on this Slurm cluster`];
  const problems: string[] = [];
  if (req.timeLimitMin !== undefined && partition.maxTimeMin !== undefined && req.timeLimitMin > partition.maxTimeMin) {
    problems.push(
      `runtime ${req.timeLimitMin} min exceeds partition ${partition.name}'s MaxTime of ${partition.maxTimeMin} min`,
    );
  }
  if (req.memoryMb !== undefined && partition.maxMemoryMb !== undefined && req.memoryMb > partition.maxMemoryMb) {
    problems.push(
      `memory ${req.memoryMb} MB${req.taskMemoryMb === undefined ? '' : ` (the task's ${req.taskMemoryMb} MB + the wrapper's ${WRAPPER_MEMORY_MB} MB)`} exceeds partition ${partition.name}'s MaxMemPerNode of ${partition.maxMemoryMb} MB`,
    );
  }
  const cpus = partition.maxCpusPerNode ?? partition.totalCpus;
  if (req.cpusPerTask !== undefined && cpus !== undefined && req.cpusPerTask > cpus) {
    problems.push(`cores ${req.cpusPerTask} exceeds the ${cpus} CPUs partition ${partition.name} has per node`);
  }
  return problems;
}
