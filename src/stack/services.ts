/**
 * API + worker in one process: the local install's "server". On a cluster they run as separate
 * processes (docker-compose.yml); locally one process is simpler to start, stop and watch.
 */
import type { Config } from '../config';
import { createDb, ensureDatabase, migrate } from '../sql/db';
import { loadAuthConfig } from '../api/auth';
import { startApiServer } from '../api/main';
import { lazyTemporalClient } from '../api/temporal';
import { startWorker } from '../worker/create-worker';

export interface LocalServices {
  apiUrl: string;
  close(): Promise<void>;
}

export async function startLocalServices(config: Config): Promise<LocalServices> {
  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl);
  await migrate(db);
  // The worker has a pool of its own, as when the two run as separate processes: a big run's
  // activities hold connections for seconds (a layer of 900,000 tasks released, batches of 50,000
  // completed), and observers' reads queued behind them: task pages of a million-task run waited
  // 9.8 s (p95) for a connection that a query needed for 1 ms (bench:million).
  const workerDb = createDb(config.databaseUrl);
  const temporal = lazyTemporalClient(config);
  const worker = await startWorker(config, workerDb);
  const api = await startApiServer({
    db,
    config,
    temporal: () => temporal.get(),
    auth: loadAuthConfig(config.user),
    port: config.apiPort,
    host: config.apiHost,
  });
  return {
    apiUrl: api.url,
    async close() {
      await api.close();
      await worker.shutdown();
      await temporal.close();
      await workerDb.destroy();
      await db.destroy();
    },
  };
}
