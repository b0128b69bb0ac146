/**
 * `jmt up` / `jmt down`: the local stack (Temporal dev server, API, worker) for a laptop install.
 * The process management itself lives in src/stack/local-stack.ts, imported lazily: it pulls in the API,
 * the worker and Temporal's native bridge, which every other `jmt` command would otherwise load.
 */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { writeJson, writeLine } from './output';

export function registerUpDownCommands(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('run the local stack (Temporal dev server, API, worker) in the foreground until Ctrl-C')
    .option('--detach', 'start what is missing in the background and return once the API answers')
    .option('--json', 'machine-readable output (with --detach)')
    .action(async (opts: { detach?: boolean; json?: boolean }, cmd: Command) => {
      const config = ctx.config(cmd);
      const { ensureLocalStack, runServicesForeground } = await import('../stack/local-stack');
      if (!opts.detach) {
        await runServicesForeground(config);
        return;
      }
      await ensureLocalStack(config);
      const info = {
        api_url: config.apiUrl,
        temporal_address: config.temporalAddress,
        temporal_ui_url: config.temporalUiUrl,
      };
      if (opts.json) return writeJson(ctx.io, info);
      writeLine(ctx.io, `API:         ${info.api_url}`);
      writeLine(ctx.io, `Temporal:    ${info.temporal_address}`);
      writeLine(ctx.io, `Temporal UI: ${info.temporal_ui_url}`);
      writeLine(ctx.io, 'stop it with `jmt down`');
    });

  program
    .command('down')
    .description('stop the background services `jmt up --detach` started')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { stopLocalStack } = await import('../stack/local-stack');
      await stopLocalStack(ctx.config(cmd));
      if (opts.json) return writeJson(ctx.io, { stopped: true });
      writeLine(ctx.io, 'local stack stopped');
    });
}
