/**
 * What a distributor is built from (the worker creates one per cluster it runs work on). No
 * database handle: a distributor gets the few reads and writes it needs as functions, so what it
 * can touch is visible here (#14).
 */
import type { Config } from '../config';
import type { WorkflowOwners } from '../sql/workflow-owners';

export interface DistributorContext {
  config: Config;
  /** Base URL of the HTTP API, handed to the worker-node wrappers the distributor launches. */
  apiUrl: string;
  /** The cluster's `connection_parameters` from the database (e.g. `{ "parallelism": 4 }`). */
  connectionParameters?: Record<string, unknown>;
  /** Workflow owners, for distributors that run jobs as the owner's account (Slurm). */
  owners: WorkflowOwners;
  /** Marks instances done (D) in one transaction: the dummy distributor's whole job. */
  completeInstances: (taskInstanceIds: number[]) => Promise<unknown>;
}
