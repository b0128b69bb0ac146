/**
 * The API's Temporal connection: made on first use, retried on the next request after a failure.
 * The API must start and answer every read from Postgres while Temporal is down (a restarting
 * frontend must not take status pages with it); only runs and controls answer 503 then.
 */
import { Client, Connection, isGrpcServiceError, ServiceError } from '@temporalio/client';
import type { Config } from '../config';
import { JobmonError } from '../domain/errors';

/** gRPC status codes that mean "the server is not there", not "the request was wrong". */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
/**
 * Bounds how long a run/control request waits when Temporal is down (every such request retries the
 * connect); a reachable frontend answers in milliseconds.
 */
const CONNECT_TIMEOUT_MS = 3_000;

export const temporalUnavailable = (detail: string): JobmonError =>
  new JobmonError('unavailable', `Temporal is unavailable: ${detail}`, undefined, 'temporal_unavailable');

export interface LazyTemporal {
  get(): Promise<Client>;
  /** Close the connection if one was made. */
  close(): Promise<void>;
}

export function lazyTemporalClient(
  config: Pick<Config, 'temporalAddress' | 'temporalNamespace'>,
  options: { connectTimeoutMs?: number } = {},
): LazyTemporal {
  const connectTimeout = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  let connecting: Promise<{ connection: Connection; client: Client }> | undefined;
  return {
    async get() {
      // Share one attempt between concurrent requests; forget it if it failed so the next retries.
      connecting ??= Connection.connect({ address: config.temporalAddress, connectTimeout }).then((connection) => ({
        connection,
        client: new Client({ connection, namespace: config.temporalNamespace }),
      }));
      const attempt = connecting;
      try {
        return (await attempt).client;
      } catch (err) {
        if (connecting === attempt) connecting = undefined;
        throw temporalUnavailable(
          `cannot connect to ${config.temporalAddress} (${err instanceof Error ? err.message : String(err)})`,
        );
      }
    },
    async close() {
      const attempt = connecting;
      connecting = undefined;
      if (!attempt) return;
      const made = await attempt.catch(() => undefined);
      await made?.connection.close();
    },
  };
}

/** True when `err` says Temporal could not be reached (as opposed to rejecting the request). */
export function isTemporalUnreachable(err: unknown): boolean {
  const grpc = isGrpcServiceError(err)
    ? err
    : err instanceof ServiceError && isGrpcServiceError(err.cause)
      ? err.cause
      : undefined;
  return grpc !== undefined && (grpc.code === GRPC_UNAVAILABLE || grpc.code === GRPC_DEADLINE_EXCEEDED);
}
