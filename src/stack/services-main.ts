#!/usr/bin/env node
/** Entry of the background services process that `jmt up --detach` and `workflow.run()` start. */
import { loadConfig } from '../config';
import { startLocalServices } from './services';

async function main(): Promise<void> {
  const services = await startLocalServices(loadConfig());
  console.error(`jmt services: API on ${services.apiUrl}`);
  const stop = () => {
    services.close().then(
      () => process.exit(0),
      (err) => {
        console.error(`jmt services: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(`jmt services: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
