/** What a distributor is built from (the worker creates one per cluster it runs work on). */
import type { Config } from '../config';
import type { Db } from '../sql/db';

export interface DistributorContext {
  db: Db;
  config: Config;
  /** Base URL of the HTTP API, handed to the worker-node wrappers the distributor launches. */
  apiUrl: string;
  /** The cluster's `connection_parameters` from the database (e.g. `{ "parallelism": 4 }`). */
  connectionParameters?: Record<string, unknown>;
}
