/**
 * `jmt task status <id...>`: a task's attempts (TaskInstances) — where each ran, how it ended,
 * what it used and where its logs are — which is what a user needs to debug a failing task.
 */
import type { Command } from 'commander';
import type { TaskDetails } from '../client/types';
import type { CliContext } from './context';
import { parsePositiveInt } from './errors';
import { firstLine, formatBytes, formatSeconds, renderTable, taskInstanceStatusText, taskStatusText, writeJson, writeLine } from './output';

export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const task = program.command('task').description('inspect tasks');

  task
    .command('status')
    .description('task instances (attempts) of one or more tasks')
    .argument('<task-id...>', 'task ids')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], opts: { json?: boolean }, cmd: Command) => {
      const taskIds = ids.map((id) => parsePositiveInt(id, 'task id'));
      const api = ctx.api(cmd);
      const details: TaskDetails[] = [];
      for (const id of taskIds) details.push(await api.get<TaskDetails>(`/tasks/${id}`));
      if (opts.json) return writeJson(ctx.io, { tasks: details });
      details.forEach((d, i) => {
        const t = d.task;
        if (i > 0) writeLine(ctx.io);
        writeLine(
          ctx.io,
          `task ${t.id} ${t.name} (template ${t.template}, workflow ${t.workflow_id}): ${taskStatusText(t.status)}, attempts ${t.num_attempts}/${t.max_attempts}`,
        );
        if (d.instances.length === 0) return writeLine(ctx.io, '  no task instances yet');
        ctx.io.stdout.write(
          renderTable(
            ['TI_ID', 'STATUS', 'DISTRIBUTOR_ID', 'NODE', 'EXIT', 'WALL_S', 'MAX_RSS', 'STDOUT', 'STDERR', 'LAST_ERROR'],
            d.instances.map((ti) => [
              ti.id,
              taskInstanceStatusText(ti.status),
              ti.distributor_id,
              ti.nodename,
              ti.exit_code,
              formatSeconds(ti.wallclock_s),
              formatBytes(ti.maxrss_bytes),
              ti.stdout_path,
              ti.stderr_path,
              firstLine(ti.errors.at(-1)?.description),
            ]),
          ),
        );
      });
    });
}
