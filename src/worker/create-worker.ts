/**
 * The Temporal worker: hosts the run workflow and its activities on one task queue. Any number of
 * workers may poll the same queue; a batch monitor that dies with its worker is retried elsewhere.
 */
import path from 'node:path';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../sql/db';
import { createActivities } from '../activities';
import { DistributorPool } from '../activities/distributor-pool';
import { tasksChangedSignal } from '../workflows/messages';
import { autoHeartbeat } from './auto-heartbeat';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker stopped (after shutdown()). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

let cachedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundle once per process; the bundle must be built by the same @temporalio/worker as the Worker. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  // `.ts` when running from sources (vitest, tsx), `.js` from dist/: bundle whichever is running.
  const workflowsPath = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);
  cachedBundle ??= bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  return cachedBundle;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export async function startWorker(config: Config, db: Db): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const clientConnection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
  const distributors = new DistributorPool(db, config);
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({
      db,
      config,
      distributors,
      notify: (temporalWorkflowId) => temporal.workflow.getHandle(temporalWorkflowId).signal(tasksChangedSignal),
    }),
    // runBatch heartbeats itself (with its progress); every other activity is heartbeated for it.
    interceptors: { activity: [autoHeartbeat(new Set(['runBatch']))] },
    // Batch monitors are long and mostly asleep; many can share a worker.
    maxConcurrentActivityTaskExecutions: 1000,
    // Give running activities a moment to notice cancellation; jobs keep running regardless.
    shutdownGraceTime: '2s',
  });
  const done = worker.run().finally(async () => {
    await distributors.close();
    await clientConnection.close();
    await connection.close();
  });
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
