/**
 * What every command needs: where to write, the effective config (with the global `--api-url`
 * applied) and an API client built from it. One per `runCli` call, so tests can run many CLIs in
 * one process without shared state.
 */
import type { Command } from 'commander';
import { ApiClient } from '../client/api-client';
import { loadConfig, type Config } from '../config';
import { CliUsageError } from './errors';
import type { CliIo } from './output';

export interface CliContext {
  readonly io: CliIo;
  readonly env: NodeJS.ProcessEnv;
  /** Set by a command that finished without an error but must not exit 0 (`--wait` not DONE). */
  exitCode: number;
  config(cmd: Command): Config;
  api(cmd: Command): ApiClient;
}

export function createContext(io: CliIo, env: NodeJS.ProcessEnv): CliContext {
  const ctx: CliContext = {
    io,
    env,
    exitCode: 0,
    config(cmd) {
      const { apiUrl } = cmd.optsWithGlobals<{ apiUrl?: string }>();
      if (apiUrl === undefined) return loadConfig({}, env);
      let url: URL;
      try {
        url = new URL(apiUrl);
      } catch {
        throw new CliUsageError(`--api-url must be an http(s) URL, got ${JSON.stringify(apiUrl)}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new CliUsageError(`--api-url must be an http(s) URL, got ${JSON.stringify(apiUrl)}`);
      }
      return loadConfig({ apiUrl: apiUrl.replace(/\/+$/, '') }, env);
    },
    api(cmd) {
      return ApiClient.fromConfig(ctx.config(cmd));
    },
  };
  return ctx;
}
