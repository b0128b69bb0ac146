export { SlurmDistributor, createSlurmDistributor, type SlurmDistributorOptions } from './slurm-distributor';
export { parseSlurmSettings, SlurmConfigError, type SlurmSettings, type SlurmMode } from './settings';
export type { SlurmBackend, ArraySubmission, PartitionInfo } from './backend';
export { classifyEnd, jobcompRecord } from './exit-info';
export { entryScript } from './entry-script';
export { jobEnvironment } from './environment';
export { toSlurmRequest, partitionProblems } from './resources';
