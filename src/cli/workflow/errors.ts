/**
 * `jmt workflow errors` (latest, or grouped by pattern with help for common causes) and
 * `jmt workflow retries` (what resource retries cost): why tasks failed.
 */
import type { Command } from 'commander';
import type { WorkflowErrorRow } from '../../contract/types';
import type { ErrorGroupsView } from '../../contract/types';
import type { ResourceRetries } from '../../contract/types';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { firstLine, formatDuration, renderTable, writeJson, writeLine } from '../output';

export function registerErrorsCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('errors')
    .description('latest task-instance errors of a workflow')
    .argument('<id>', 'workflow id')
    .option('--limit <n>', 'at most this many errors', '20')
    .option('--grouped', 'grouped by normalised pattern, with help for common causes')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { limit: string; json?: boolean; grouped?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      if (opts.grouped) return printErrorGroups(ctx, cmd, id, opts);
      const limit = parsePositiveInt(opts.limit, '--limit');
      const { errors } = await ctx
        .api(cmd)
        .get<{ errors: WorkflowErrorRow[] }>(`/workflows/${id}/errors`, { query: { limit } });
      if (opts.json) return writeJson(ctx.io, { errors });
      if (errors.length === 0) return writeLine(ctx.io, `workflow ${id} has no errors`);
      ctx.io.stdout.write(
        renderTable(
          ['TI_ID', 'TASK_ID', 'TASK_NAME', 'ERROR_TIME', 'ERROR'],
          errors.map((e) => [e.task_instance_id, e.task_id, e.task_name, e.error_time, firstLine(e.description, 100)]),
        ),
      );
    });
}

export function registerRetriesCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('retries')
    .description('tasks that needed resource retries and what the retries cost')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const r = await ctx.api(cmd).get<ResourceRetries>(`/workflows/${id}/resource-retries`);
      if (opts.json) return writeJson(ctx.io, r);
      writeLine(
        ctx.io,
        `${r.tasks} tasks needed resource retries: ${r.resource_errors} resource errors, ${formatDuration(r.wasted_wallclock_s) ?? '0s'} wall time and ${r.wasted_core_hours.toFixed(2)} core-hours spent on failed attempts`,
      );
      if (r.per_template.length) {
        ctx.io.stdout.write(
          renderTable(
            ['TEMPLATE', 'TASKS', 'RESOURCE_ERRORS', 'WASTED_WALL', 'WASTED_CORE_H'],
            r.per_template.map((t) => [
              t.template,
              t.tasks,
              t.resource_errors,
              formatDuration(t.wasted_wallclock_s),
              Number(t.wasted_core_hours.toFixed(3)),
            ]),
          ),
        );
      }
    });
}

async function printErrorGroups(
  ctx: CliContext,
  cmd: Command,
  id: number,
  opts: { json?: boolean; template?: string; limit?: string },
): Promise<void> {
  const view = await ctx.api(cmd).get<ErrorGroupsView>(`/workflows/${id}/error-groups`, {
    query: { template: opts.template, limit: opts.limit },
  });
  if (opts.json) return writeJson(ctx.io, view);
  if (!view.groups.length) return writeLine(ctx.io, `workflow ${id} has no errors`);
  writeLine(ctx.io, `${view.total_errors} errors in ${view.groups.length} group${view.groups.length === 1 ? '' : 's'}`);
  view.groups.forEach((g, i) => {
    writeLine(ctx.io);
    writeLine(
      ctx.io,
      `#${i + 1}  ${g.count} errors, ${g.tasks} tasks, templates ${g.templates.join(', ')}; first ${g.first_seen}, last ${g.last_seen}`,
    );
    writeLine(ctx.io, `    pattern: ${g.pattern.length > 240 ? `${g.pattern.slice(0, 240)}…` : g.pattern}`);
    writeLine(
      ctx.io,
      `    example tasks: ${g.example_task_ids.join(', ')} (instances ${g.example_task_instance_ids.join(', ')})`,
    );
    if (g.help) writeLine(ctx.io, `    ${g.help.title}: ${g.help.explanation}\n    what to do: ${g.help.action}`);
  });
}
