/** What every route file receives from `createApp`, and the Hono environment they share. */
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../sql/db';
import type { AuthVariables } from './auth';
import type { RunNotifier } from '../control/run-notifier';

export interface RouteDeps {
  db: Db;
  /**
   * The worker-node callbacks' own small pool (heartbeat, running, done, error): they never wait
   * for a connection behind a bind's or an observer's queries (issue #13: heartbeat p99 < 200 ms).
   */
  callbackDb: Db;
  config: Config;
  /** Resolves a connected client or throws JobmonError `temporal_unavailable` (503). */
  temporal: () => Promise<Client>;
  notifier: RunNotifier;
}

export interface AppEnv {
  Variables: AuthVariables;
}

/** Prefix of every versioned route (docs/api-contract.md). */
export const API_PREFIX = '/api/v1';
