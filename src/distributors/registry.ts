/**
 * Cluster type → distributor factory. Built-in local ones are registered here; the Slurm
 * distributor registers itself the same way (`registerDistributor('slurm', ...)`).
 */
import type { ClusterType, Distributor } from './distributor';
import type { DistributorContext } from './context';
import { DummyDistributor } from './dummy';
import { createMultiprocessDistributor } from './multiprocess';
import { createSequentialDistributor } from './sequential';
import { createSlurmDistributor } from './slurm';

export type DistributorFactory = (ctx: DistributorContext) => Distributor;

const FACTORIES = new Map<string, DistributorFactory>([
  ['dummy', (ctx) => new DummyDistributor(ctx.completeInstances)],
  ['sequential', createSequentialDistributor],
  ['multiprocess', createMultiprocessDistributor],
  ['slurm', createSlurmDistributor],
]);

export function registerDistributor(clusterType: ClusterType, factory: DistributorFactory): void {
  FACTORIES.set(clusterType, factory);
}

export function registeredClusterTypes(): string[] {
  return [...FACTORIES.keys()];
}

export function createDistributor(clusterType: ClusterType | string, ctx: DistributorContext): Distributor {
  const factory = FACTORIES.get(clusterType);
  if (!factory)
    throw new Error(`no distributor for cluster type "${clusterType}" (known: ${registeredClusterTypes().join(', ')})`);
  return factory(ctx);
}
