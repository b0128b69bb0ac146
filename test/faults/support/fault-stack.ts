/**
 * A stack of real processes for one fault test: the API (dist/src/api/main.js) and the worker
 * (dist/src/worker/main.js) as children the test may SIGKILL and restart, a database of their own
 * (a copy of the run's template, or any URL, e.g. a private Postgres cluster), and Temporal (the
 * run's shared dev server, or a private one). Heartbeats are 1 s so a lost job is found in seconds.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../../src/config';
import { Tool } from '../../../src/client';
import { createDb, type Db } from '../../../src/sql/db';
import { createTestDatabase } from '../../helpers/db';
import { freePort } from '../../helpers/ports';
import { temporalAddress, temporalNamespace } from '../../helpers/temporal';
import { ServiceProcess, waitForApi } from './services';

export interface FaultStackOptions {
  /** Postgres database the processes use (already migrated or not: the API migrates). Default: a test copy. */
  databaseUrl?: string;
  temporal?: { address: string; namespace: string };
  /** URL the wrappers call instead of the API (a chaos proxy in front of it); default the API itself. */
  wrapperApiUrl?: string;
  /** Wrappers running at once on this machine (multiprocess distributor). */
  parallelism?: number;
  /** Extra environment for both processes. */
  env?: NodeJS.ProcessEnv;
}

export interface FaultStack {
  /** What the control script (client) uses: the API directly. */
  config: Config;
  db: Db;
  apiUrl: string;
  apiPort: number;
  api: ServiceProcess;
  worker: ServiceProcess;
  /** Where wrappers write their logs (`local-distributor/*.log`). */
  logDir: string;
  tool(name: string): Tool;
  /** Start the API again on the same port and wait until it answers. */
  startApi(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep going: one failed step must not leak the processes and databases after it
      }
    }
  };
  try {
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const database = await createTestDatabase();
      cleanups.push(() => database.destroy());
      databaseUrl = database.url;
    }
    const home = mkdtempSync(path.join(os.tmpdir(), 'jmt-faults-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: options.temporal?.address ?? temporalAddress(),
      TEMPORAL_NAMESPACE: options.temporal?.namespace ?? temporalNamespace(),
      JMT_TASK_QUEUE: `jmt-faults-${randomUUID()}`,
      JMT_WORKFLOW_ID_PREFIX: `jmt-faults-${randomUUID().slice(0, 8)}`,
      JMT_API_PORT: String(apiPort),
      JMT_API_URL: apiUrl,
      JMT_HOME: home,
      JMT_TI_HEARTBEAT_S: '1',
      JMT_REPORT_BY_BUFFER: '3.1',
      JMT_MULTIPROCESS_PARALLELISM: String(options.parallelism ?? 6),
      // A wrapper process per task, as on a cluster: these faults are the wrapper's (a job killed
      // silently is its wrapper and command). The local executor's are in test/local-executor.test.ts.
      JMT_LOCAL_EXECUTOR: '0',
      ...options.env,
    };
    delete base.JMT_TOKENS;
    delete base.JMT_TOKEN;
    const api = new ServiceProcess('api', 'api/main.js', () => base);
    const worker = new ServiceProcess('worker', 'worker/main.js', () => ({
      ...base,
      JMT_API_URL: options.wrapperApiUrl ?? apiUrl,
    }));
    cleanups.push(() => api.stop('SIGTERM'));
    cleanups.push(() => worker.stop('SIGTERM'));
    const config = loadConfig({}, base);
    const db = createDb(databaseUrl, 3);
    cleanups.push(() => db.destroy());

    const startApi = async (): Promise<void> => {
      api.start();
      await waitForApi(api, apiUrl, 90_000);
    };
    await startApi();
    worker.start();
    return {
      config,
      db,
      apiUrl,
      apiPort,
      api,
      worker,
      logDir: config.logDir,
      tool: (name) => new Tool(name, { config, stderr: { write: () => true } }),
      startApi,
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
