/**
 * `jmt task logs`: stdout or stderr of a task instance (the log file recorded for it), tail or full.
 */
import type { Command } from 'commander';
import type { InstanceLog } from '../contract/types';
import type { CliContext } from './context';
import { CliUsageError, parsePositiveInt } from './errors';
import { writeJson } from './output';

export function registerTaskLogsCommand(task: Command, ctx: CliContext): void {
  task
    .command('logs')
    .description('stdout or stderr of a task instance (the log file recorded for it), tail or full')
    .argument('<task-instance-id>', 'task instance id (jmt task status <task-id> lists them)')
    .option('--stream <s>', 'stdout or stderr', 'stderr')
    .option('--tail <n>', 'last n lines', '100')
    .option('--full', 'the whole log (up to 8 MiB)')
    .option('--json', 'machine-readable output')
    .action(
      async (idText: string, opts: { stream: string; tail: string; full?: boolean; json?: boolean }, cmd: Command) => {
        const id = parsePositiveInt(idText, 'task instance id');
        if (opts.stream !== 'stdout' && opts.stream !== 'stderr')
          throw new CliUsageError('--stream must be stdout or stderr');
        const log = await ctx.api(cmd).get<InstanceLog>(`/task-instances/${id}/logs`, {
          query: { stream: opts.stream, tail: opts.full ? undefined : parsePositiveInt(opts.tail, '--tail') },
        });
        if (opts.json) return writeJson(ctx.io, log);
        ctx.io.stderr.write(
          `== ${log.stream} of task instance ${id} (task ${log.task_id}): ${log.path ?? 'no file'} [${log.source}${log.truncated ? ', truncated' : ''}]${log.note ? ` — ${log.note}` : ''}\n`,
        );
        ctx.io.stdout.write(log.text.endsWith('\n') || !log.text ? log.text : `${log.text}\n`);
      },
    );
}
