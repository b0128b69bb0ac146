/**
 * `jmt workflow progress`: is it done yet — % done, ETA from past runtimes, time and CPU spent, risks.
 */
import type { Command } from 'commander';
import type { WorkflowProgress } from '../../contract/types';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { formatDuration, renderTable, writeJson, writeLine } from '../output';
import { BUCKETS } from './statuses';

export function registerProgressCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('progress')
    .description('is it done yet: % done, ETA from past runtimes, time and CPU spent, risks')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const p = await ctx.api(cmd).get<WorkflowProgress>(`/workflows/${id}/progress`);
      if (opts.json) return writeJson(ctx.io, p);
      writeLine(ctx.io, `workflow ${p.workflow_id} ${p.name ? `(${p.name}) ` : ''}${p.status_label}: ${p.summary}`);
      writeLine(ctx.io);
      ctx.io.stdout.write(
        renderTable(
          ['TEMPLATE', 'TASKS', 'DONE', 'RUNNING', 'FATAL', '%DONE', 'TYPICAL', 'BASIS', 'WORK_LEFT'],
          p.templates.map((t) => [
            t.name,
            t.total,
            t.done,
            t.running,
            t.fatal,
            t.percent_done,
            formatDuration(t.expected_runtime_s),
            t.basis,
            formatDuration(t.remaining_work_s),
          ]),
        ),
      );
      writeLine(ctx.io);
      writeLine(ctx.io, `tasks: ${BUCKETS.map((b) => `${b} ${p.buckets[b]}`).join(', ')} (${p.percent_done} % done)`);
      writeLine(
        ctx.io,
        `ETA: ${p.eta.text}${p.eta.finish_date && p.eta.seconds ? ` (around ${p.eta.finish_date}; ${p.eta.confidence.replace('_', ' ')})` : ''}`,
      );
      writeLine(
        ctx.io,
        `time: ${formatDuration(p.wall_time_s) ?? '0s'} wall since the first run; ${p.cpu_hours} CPU-hours in ${p.instances} instances`,
      );
      writeLine(
        ctx.io,
        `now: ${p.running} running, ${p.waiting_in_queue} queued (median wait ${formatDuration(p.queue_wait_s.current_median ?? p.queue_wait_s.recent_median) ?? '-'}); concurrency observed ${p.concurrency.observed}, effective ${p.concurrency.effective}`,
      );
      for (const r of p.risks)
        writeLine(
          ctx.io,
          `risk (${r.severity}): ${r.message}${r.example_task_ids.length ? ` [tasks ${r.example_task_ids.join(', ')}]` : ''}\n  → ${r.action}`,
        );
      if (p.run) writeLine(ctx.io, `Temporal: ${p.run.temporal_ui_url}`);
    });
}
