/**
 * One distributor instance per cluster per worker process: the local ones hold the process-wide
 * slot limit (multiprocess = cores), so every batch monitor in this worker must share it.
 */
import type { Config } from '../config';
import type { Db } from '../sql/db';
import type { ClusterType, Distributor } from '../distributors/distributor';
import { createDistributor } from '../distributors';
import { completeInstancesBulk } from '../sql/task-instance-reports';
import { workflowOwners } from '../sql/workflow-owners';

export class DistributorPool {
  readonly #byCluster = new Map<string, Distributor>();

  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  get(clusterName: string, clusterType: string, connectionParameters: Record<string, unknown>): Distributor {
    let distributor = this.#byCluster.get(clusterName);
    if (!distributor) {
      distributor = createDistributor(clusterType as ClusterType, {
        owners: workflowOwners(this.db),
        completeInstances: (ids) => completeInstancesBulk(this.db, ids),
        config: this.config,
        apiUrl: this.config.apiUrl,
        connectionParameters,
      });
      this.#byCluster.set(clusterName, distributor);
    }
    return distributor;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#byCluster.values()].map((d) => d.close()));
    this.#byCluster.clear();
  }
}
