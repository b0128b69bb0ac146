export * from './distributor';
export type { DistributorContext } from './context';
export { createDistributor, registerDistributor, registeredClusterTypes, type DistributorFactory } from './registry';
export { DummyDistributor } from './dummy';
export { LocalProcessDistributor } from './local-process';
export { LocalSlotPool, sharedPool } from './local-slot-pool';
export { multiprocessParallelism } from './multiprocess';
