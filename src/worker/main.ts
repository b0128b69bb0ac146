#!/usr/bin/env node
/** Worker process entry: `node dist/src/worker/main.js`. Stops cleanly on SIGTERM/SIGINT. */
import { loadConfig } from '../config';
import { createDb, ensureDatabase, migrate } from '../sql/db';
import { startWorker } from './create-worker';

async function main(): Promise<void> {
  const config = loadConfig();
  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl);
  await migrate(db);
  const running = await startWorker(config, db);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void running.shutdown());
  }
  console.error(`jmt worker polling task queue "${config.taskQueue}" on ${config.temporalAddress}`);
  await running.done;
  await db.destroy();
}

main().catch((err) => {
  console.error(`jmt worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
