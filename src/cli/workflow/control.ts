/**
 * `jmt workflow pause|unpause|stop|reset|concurrency`: steer the active run (through the API, which
 * signals or updates the run's Temporal workflow) or, for reset, the tasks of an idle workflow.
 */
import type { Command } from 'commander';
import type { ConcurrencyLimits, ControlResult, ResetResult } from '../../contract/types';
import type { CliContext } from '../context';
import { CliUsageError, parseNonNegativeInt, parsePositiveInt } from '../errors';
import { formatLimit, writeJson, writeLine } from '../output';

export function registerControlCommands(workflow: Command, ctx: CliContext): void {
  const control = (name: 'pause' | 'unpause', description: string, done: string) =>
    workflow
      .command(name)
      .description(description)
      .argument('<id>', 'workflow id')
      .option('--json', 'machine-readable output')
      .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
        const id = parsePositiveInt(idText, 'workflow id');
        const result = await ctx.api(cmd).post<ControlResult>(`/workflows/${id}/${name}`);
        if (opts.json) return writeJson(ctx.io, result);
        writeLine(ctx.io, `workflow ${id}: ${done}`);
      });
  control(
    'pause',
    'stop launching new tasks; running tasks go on',
    'paused (running tasks go on; nothing new starts until unpause)',
  );
  control('unpause', 'launch tasks again after pause', 'unpaused');

  workflow
    .command('stop')
    .description('end the active run, resumable: --drain (default) lets running tasks finish, --kill kills them')
    .argument('<id>', 'workflow id')
    .option('--drain', 'let running tasks finish; nothing new starts (the default)')
    .option('--kill', 'kill running tasks (their jobs are cancelled on the distributor) instead of letting them finish')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { drain?: boolean; kill?: boolean; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      if (opts.drain && opts.kill) throw new CliUsageError('choose one of --drain and --kill');
      const mode = opts.kill ? 'kill' : 'drain';
      const result = await ctx.api(cmd).post<ControlResult>(`/workflows/${id}/stop`, { mode });
      if (opts.json) return writeJson(ctx.io, result);
      writeLine(
        ctx.io,
        `workflow ${id}: stopping (${mode === 'kill' ? 'running tasks are being killed' : 'running tasks finish, nothing new starts'})`,
      );
    });

  workflow
    .command('reset')
    .description('every task back to REGISTERING with no attempts used (for debugging); refused while a run is active')
    .argument('<id>', 'workflow id')
    .option('--keep-done', 'leave DONE tasks DONE (Jobmon --partial)')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { keepDone?: boolean; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const result = await ctx
        .api(cmd)
        .post<ResetResult>(`/workflows/${id}/reset`, { keep_done: opts.keepDone ?? false });
      if (opts.json) return writeJson(ctx.io, result);
      writeLine(
        ctx.io,
        `workflow ${id}: reset ${result.reset} task(s) to REGISTERING${opts.keepDone ? `, kept ${result.kept_done} DONE` : ''}; start it with \`jmt workflow resume ${id}\``,
      );
    });
}

export function registerConcurrencyCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('concurrency')
    .description('change how many tasks may run at once, for the workflow or one template (0 pauses)')
    .argument('<id>', 'workflow id')
    .requiredOption('--limit <n>', 'the new limit (0 or more)')
    .option('--template <name>', 'limit this task template instead of the whole workflow')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { limit: string; template?: string; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const limit = parseNonNegativeInt(opts.limit, '--limit');
      const body = opts.template === undefined ? { limit } : { limit, template: opts.template };
      const limits = await ctx.api(cmd).put<ConcurrencyLimits>(`/workflows/${id}/concurrency`, body);
      if (opts.json) return writeJson(ctx.io, limits);
      const templates = Object.entries(limits.templates).map(([name, n]) => `${name}=${formatLimit(n)}`);
      writeLine(
        ctx.io,
        `workflow ${id}: limit ${formatLimit(limits.workflow)}${templates.length ? `; templates: ${templates.join(', ')}` : ''}`,
      );
    });
}
