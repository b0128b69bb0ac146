/**
 * `jmt task deps`: a task's upstream and downstream tasks, or with `--failed` the paths from it up
 * to the failed upstream tasks that keep it from running.
 */
import type { Command } from 'commander';
import type { FailurePaths, TaskDeps } from '../contract/types';
import type { CliContext } from './context';
import { parsePositiveInt } from './errors';
import { renderTable, writeJson, writeLine } from './output';

export function registerTaskDepsCommand(task: Command, ctx: CliContext): void {
  task
    .command('deps')
    .description('upstream and downstream tasks; with --failed, the paths to failed upstream tasks')
    .argument('<task-id>', 'task id')
    .option('--depth <n>', 'levels to follow', '1')
    .option('--failed', 'paths from this task up to failed (FATAL) upstream tasks')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { depth: string; failed?: boolean; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'task id');
      const api = ctx.api(cmd);
      if (opts.failed) {
        const fp = await api.get<FailurePaths>(`/tasks/${id}/failure-paths`);
        if (opts.json) return writeJson(ctx.io, fp);
        if (fp.note) writeLine(ctx.io, fp.note);
        for (const p of fp.paths)
          writeLine(
            ctx.io,
            `${p.path.join(' ← ')}   (task ${p.failed_task_id} ${p.failed_task_name} [${p.failed_template}] failed)`,
          );
        if (fp.failed_upstream > fp.paths.length)
          writeLine(ctx.io, `(${fp.paths.length} of ${fp.failed_upstream} failed upstream tasks shown)`);
        return;
      }
      const d = await api.get<TaskDeps>(`/tasks/${id}/dependencies`, {
        query: { depth: parsePositiveInt(opts.depth, '--depth') },
      });
      if (opts.json) return writeJson(ctx.io, d);
      writeLine(ctx.io, `task ${d.task.id} ${d.task.name} [${d.task.template}] ${d.task.status}`);
      const rows = [
        ...d.upstream.map((t) => ['upstream', t.depth, t.id, t.name, t.template, t.status] as const),
        ...d.downstream.map((t) => ['downstream', t.depth, t.id, t.name, t.template, t.status] as const),
      ];
      ctx.io.stdout.write(renderTable(['DIRECTION', 'DEPTH', 'TASK_ID', 'NAME', 'TEMPLATE', 'STATUS'], rows));
      if (d.upstream_truncated || d.downstream_truncated) writeLine(ctx.io, '(truncated at 500 per direction)');
    });
}
