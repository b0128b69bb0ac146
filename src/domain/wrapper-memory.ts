/**
 * The worker-node wrapper's own share of a job's memory, and the least memory a task can ever run
 * in. A batch system that enforces memory (Slurm's cgroup limit, or OverMemoryKill sampling) charges
 * the wrapper — a Node process that reports, heartbeats and waits for the task — to the same job as
 * the task. So the job asks for the task's request plus the wrapper's share: a task that fits its
 * own request is then never killed for the wrapper's memory, and a resource retry scales the task's
 * part only.
 */

/**
 * The wrapper's resident memory while its task runs, in MB: its measured peak, rounded up to the
 * next 8 MB. Method (test/slurm/memory-pending.test.ts, on the Slurm 24.11 cluster of
 * scripts/slurm-up-24.11.sh, trixie's Node.js 20.19): the task's command reads its parent's — the
 * wrapper's — /proc/$PPID/status after it has run, while the wrapper is reporting and waiting.
 * Measured 2026-12-03: VmHWM 60.6–60.9 MB = RssAnon 15.9 MB + RssFile 44.6 MB (Node's own binary,
 * mapped). The file pages are page cache the job's cgroup may be charged for (the first job on a
 * node that maps Node), so the whole peak is counted. `jmt doctor` measures the load-time share on
 * each cluster's own Node (`wrapper.memory_mb`), to check this constant against.
 */
export const WRAPPER_MEMORY_MB = 64;

/**
 * The least memory a task's own part can be: its command runs under `/bin/bash -c`, whose resident
 * size alone is ~4 MB; a request below that can never run, whatever the wrapper's share.
 */
export const MIN_TASK_MEMORY_MB = 8;

/** The memory a job asks the batch system for: the task's request (GiB) plus the wrapper's share, MB. */
export const jobMemoryMb = (taskMemoryGiB: number): number =>
  Math.max(1, Math.ceil(taskMemoryGiB * 1024)) + WRAPPER_MEMORY_MB;
