/**
 * `jmt workflow log-summary`: the most frequent last log lines of a template's tasks and what differs
 * between its failed and successful instances.
 */
import type { Command } from 'commander';
import type { TemplateLogSummary } from '../../contract/types';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { formatBytes, formatDuration, renderTable, writeJson, writeLine } from '../output';

export function registerLogSummaryCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('log-summary')
    .description('most frequent last log lines of a template’s tasks; what differs between failed and successful ones')
    .argument('<id>', 'workflow id')
    .argument('<template>', 'task template name')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, template: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const s = await ctx
        .api(cmd)
        .get<TemplateLogSummary>(`/workflows/${id}/templates/${encodeURIComponent(template)}/log-summary`);
      if (opts.json) return writeJson(ctx.io, s);
      writeLine(ctx.io, `${s.template}: ${s.instances} ended instances, ${s.succeeded} succeeded, ${s.failed} failed`);
      for (const [label, groups] of [
        ['stdout', s.stdout_last_lines],
        ['stderr', s.stderr_last_lines],
      ] as const) {
        writeLine(ctx.io, `\nlast line of ${label}:`);
        ctx.io.stdout.write(
          renderTable(
            ['FAILED', 'SUCCEEDED', 'EXAMPLE'],
            groups.map((g) => [g.failed, g.succeeded, g.example.slice(0, 110)]),
          ),
        );
      }
      const d = s.differences;
      writeLine(ctx.io, '\nwhat differs:');
      writeLine(
        ctx.io,
        `  exit codes of failed: ${d.exit_codes_of_failed.map((e) => `${e.exit_code ?? 'none'} ×${e.count}`).join(', ') || '-'}`,
      );
      writeLine(
        ctx.io,
        `  median wall time: succeeded ${formatDuration(d.median_wallclock_s.succeeded) ?? '-'}, failed ${formatDuration(d.median_wallclock_s.failed) ?? '-'}`,
      );
      writeLine(
        ctx.io,
        `  median max RSS: succeeded ${formatBytes(d.median_maxrss_bytes.succeeded) ?? '-'}, failed ${formatBytes(d.median_maxrss_bytes.failed) ?? '-'}`,
      );
      for (const n of d.notes) writeLine(ctx.io, `  - ${n}`);
    });
}
