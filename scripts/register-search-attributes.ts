/**
 * `node dist/scripts/register-search-attributes.js`: register temporal/search-attributes.json on the
 * server at TEMPORAL_ADDRESS, namespace TEMPORAL_NAMESPACE. Used by the docker-compose init
 * container and by hand for an external server; waits (bounded) for the server to come up.
 */
import { Connection } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { registerSearchAttributes } from '../src/temporal/register-search-attributes';

const CONNECT_DEADLINE_MS = Number(process.env.JMT_CONNECT_TIMEOUT_MS ?? 120_000);

async function main(): Promise<void> {
  const config = loadConfig();
  const deadline = Date.now() + CONNECT_DEADLINE_MS;
  for (;;) {
    try {
      const connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: 5_000 });
      try {
        // A fresh server accepts connections before its namespace exists (auto-setup creates it).
        await connection.workflowService.describeNamespace({ namespace: config.temporalNamespace });
        const { added, present } = await registerSearchAttributes(connection, config.temporalNamespace);
        console.log(
          `search attributes on ${config.temporalAddress}/${config.temporalNamespace}: ` +
            `added [${added.join(', ')}], already present [${present.join(', ')}]`,
        );
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw err;
      console.log(`waiting for Temporal at ${config.temporalAddress}: ${String(err)}`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
