/**
 * The kernel's count of OOM kills in this process's memory cgroup: on a cluster that enforces
 * memory with cgroups (Slurm's task/cgroup), a command killed with SIGKILL while this count rose
 * was killed over the job's memory limit — a resource error (Z, retried with more memory), not a
 * plain failure. cgroup v1: `oom_kill` in memory.oom_control; v2: `oom_kill` in memory.events.
 * Undefined where there is no such counter (no cgroup, or not readable).
 */
import { readFileSync } from 'node:fs';

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

export function oomKillCount(procCgroup = '/proc/self/cgroup', root = '/sys/fs/cgroup'): number | undefined {
  const lines = read(procCgroup)?.split('\n') ?? [];
  const v1 = lines.map((l) => /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  const file =
    v1 !== undefined
      ? `${root}/memory${v1}/memory.oom_control`
      : (() => {
          const v2 = lines.map((l) => /^0::(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
          return v2 === undefined ? undefined : `${root}${v2}/memory.events`;
        })();
  const m = file ? /^oom_kill (\d+)$/m.exec(read(file) ?? '') : null;
  return m ? Number(m[1]) : undefined;
}
