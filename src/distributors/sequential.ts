/** `sequential`: one task at a time on this machine, through the worker-node wrapper. */
import type { DistributorContext } from './context';
import { LocalProcessDistributor } from './local-process';
import { sharedPool } from './local-slot-pool';

export function createSequentialDistributor(ctx: DistributorContext): LocalProcessDistributor {
  return new LocalProcessDistributor({
    clusterType: 'sequential',
    config: ctx.config,
    apiUrl: ctx.apiUrl,
    pool: sharedPool('sequential', 1),
  });
}
