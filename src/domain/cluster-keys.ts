/**
 * Which compute-resource keys each cluster type acts on (docs/api-contract.md, "Clusters"). Bind
 * accepts any key (Jobmon scripts carry site keys such as `project` or `constraints`) but answers
 * with the keys a workflow's clusters will not use, so a key that does nothing is said out loud
 * instead of silently stored.
 *
 * `stdout` / `stderr` (Jobmon's log directories) are honoured wherever the worker-node wrapper runs
 * the command, i.e. on every cluster type but `dummy`, which runs nothing.
 */
import type { Resources } from './resources';

const WRAPPER_KEYS = ['queue', 'stdout', 'stderr'] as const;

/** Keys each built-in cluster type acts on; `queue` is always required and always used. */
export const HONOURED_RESOURCE_KEYS: Readonly<Record<string, readonly string[]>> = {
  dummy: ['queue'],
  sequential: WRAPPER_KEYS,
  multiprocess: WRAPPER_KEYS,
  // cores → --cpus-per-task, memory → --mem, runtime → --time, account/qos/constraints as sbatch's;
  // project → --account (Jobmon's Slurm plugin), unless `account` is given too.
  slurm: [...WRAPPER_KEYS, 'cores', 'memory', 'runtime', 'account', 'project', 'qos', 'constraints'],
};

/** What a cluster type acts on; an unknown type (a plugin) is assumed to use every key. */
export function honouredKeys(clusterType: string): readonly string[] | undefined {
  return HONOURED_RESOURCE_KEYS[clusterType];
}

/**
 * Keys bind itself acts on for every type: a task over its queue's limits is refused at bind. Not
 * reported as ignored where the type does not enforce them (the local types): every Jobmon script
 * sets them, so a local run printed "multiprocess does not use cores, memory, runtime" on each
 * bind — true of enforcement, but noise that buried the keys that really do nothing.
 */
const CHECKED_AT_BIND = ['cores', 'memory', 'runtime'];

/**
 * Per cluster name, the sorted resource keys requested by some task that its type does not act on
 * (neither the distributor nor bind's queue-limit check).
 * `requests` are the workflow's distinct resolved requests (a handful, not one per task).
 */
export function ignoredResourceKeys(
  requests: Iterable<{ clusterName: string; resources: Resources }>,
  clusterTypes: ReadonlyMap<string, string>,
): Record<string, string[]> {
  const ignored = new Map<string, Set<string>>();
  for (const { clusterName, resources } of requests) {
    const honoured = honouredKeys(clusterTypes.get(clusterName) ?? '');
    if (!honoured) continue;
    for (const key of Object.keys(resources)) {
      if (honoured.includes(key) || CHECKED_AT_BIND.includes(key) || resources[key] === undefined) continue;
      let keys = ignored.get(clusterName);
      if (!keys) ignored.set(clusterName, (keys = new Set()));
      keys.add(key);
    }
  }
  const out: Record<string, string[]> = {};
  for (const [cluster, keys] of [...ignored].sort(([a], [b]) => a.localeCompare(b))) out[cluster] = [...keys].sort();
  return out;
}
