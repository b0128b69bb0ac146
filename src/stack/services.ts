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
  const temporal = lazyTemporalClient(config);
  const worker = await startWorker(config, db);
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
      await db.destroy();
    },
  };
}
