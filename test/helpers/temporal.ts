/** The run's shared Temporal server (test/global-setup.ts) and connections to it. */
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export function temporalAddress(): string {
  return inject('temporalAddress');
}

export function temporalNamespace(): string {
  return inject('temporalNamespace');
}

export interface TemporalConnections {
  /** For clients (start, signal, query, describe, operator service). */
  connection: Connection;
  client: Client;
  /** For `Worker.create({ connection: nativeConnection, ... })`. */
  nativeConnection: NativeConnection;
  close(): Promise<void>;
}

export async function connectTemporal(): Promise<TemporalConnections> {
  const address = temporalAddress();
  const namespace = temporalNamespace();
  const connection = await Connection.connect({ address });
  let nativeConnection: NativeConnection;
  try {
    nativeConnection = await NativeConnection.connect({ address });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const client = new Client({ connection, namespace });
  return {
    connection,
    client,
    nativeConnection,
    async close() {
      // Close both even if one fails: a leaked native connection keeps the fork alive.
      const results = await Promise.allSettled([nativeConnection.close(), connection.close()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
