/**
 * `multiprocess`: up to `parallelism` tasks at once on this machine, through the worker-node
 * wrapper. Parallelism: JMT_MULTIPROCESS_PARALLELISM (this worker's machine), else the cluster's
 * connection_parameters `{ "parallelism": n }`, else the number of CPUs.
 */
import os from 'node:os';
import type { DistributorContext } from './context';
import { LocalProcessDistributor } from './local-process';
import { sharedPool } from './local-slot-pool';

export function multiprocessParallelism(
  connectionParameters: Record<string, unknown> | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const candidates: [string, unknown][] = [
    ['JMT_MULTIPROCESS_PARALLELISM', env.JMT_MULTIPROCESS_PARALLELISM],
    ['connection_parameters.parallelism', connectionParameters?.parallelism],
  ];
  for (const [name, raw] of candidates) {
    if (raw === undefined || raw === null || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${name} must be a whole number ≥ 1, got ${JSON.stringify(raw)}`);
    return n;
  }
  return os.availableParallelism();
}

export function createMultiprocessDistributor(ctx: DistributorContext): LocalProcessDistributor {
  const slots = multiprocessParallelism(ctx.connectionParameters);
  return new LocalProcessDistributor({
    clusterType: 'multiprocess',
    config: ctx.config,
    apiUrl: ctx.apiUrl,
    pool: sharedPool('multiprocess', slots),
  });
}
