/**
 * Arguments of `temporal server start-dev` for the local install (`jmt up`). The caller spawns
 * `<config.temporalBin> server start-dev ...devServerArgs(...)`; temporal/README.md explains each
 * choice. Pure: no I/O, so it can be unit-tested and shared with scripts.
 */
import { searchAttributeFlags } from './search-attributes';

export interface DevServerArgsOptions {
  /** Frontend gRPC port (TEMPORAL_ADDRESS's port). */
  port: number;
  /** Web UI port; `null` runs headless. */
  uiPort: number | null;
  /** SQLite file; its directory must exist. Omit only for throw-away servers (state is lost on exit). */
  dbFile?: string;
  /** Namespace to create besides `default` (which always exists). */
  namespace?: string;
  /** Bind address; loopback by default because the dev server has no authentication. */
  ip?: string;
  /** Server log level (the CLI's default for the server is `warn`). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
  /** Extra `KEY=JSON` dynamic-config values, on top of DEV_SERVER_DYNAMIC_CONFIG. */
  dynamicConfig?: Record<string, unknown>;
}

/**
 * Dynamic config for the local server. Deliberately small: only what Jobmon's load needs beyond the
 * dev server's own defaults.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  // Jobmon workflow runs stay open for days on a cluster; the default namespace retention (24 h)
  // only applies after close, so nothing to change there. Pending-activity cap per workflow
  // (default 2,000): a run keeps at most one activity per in-flight batch plus a few control
  // activities, far below it, so the default stays. Listed here as the place to change it.
});

export function devServerArgs(opts: DevServerArgsOptions): string[] {
  const args = ['--ip', opts.ip ?? '127.0.0.1', '--port', String(opts.port)];
  if (opts.uiPort === null) {
    args.push('--headless');
  } else {
    // The UI fetches a news feed from the internet by default; these machines have no route out.
    args.push('--ui-port', String(opts.uiPort), '--ui-ip', opts.ip ?? '127.0.0.1', '--ui-disable-news-fetch');
  }
  if (opts.dbFile !== undefined) {
    // Without a file the dev server keeps everything in memory and loses every run when it exits;
    // Jobmon's promise is that a run survives a restart of everything, so local installs persist.
    args.push('--db-filename', opts.dbFile);
  }
  if (opts.namespace !== undefined && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  // WAL lets visibility reads proceed while history is written; synchronous=NORMAL under WAL syncs at
  // checkpoints only: an application crash loses nothing, a power loss may lose the last commits.
  args.push('--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  // Registered in every namespace created at start; re-registering on an existing file is a no-op.
  args.push(...searchAttributeFlags());
  const dynamic = { ...DEV_SERVER_DYNAMIC_CONFIG, ...opts.dynamicConfig };
  for (const [key, value] of Object.entries(dynamic)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  args.push('--log-level', opts.logLevel ?? 'warn');
  return args;
}
