/**
 * `jmt workflow search`: find workflows by user, tool, name, workflow_args, attribute, template, status
 * or date (docs/observers.md).
 */
import type { Command } from 'commander';
import type { FoundWorkflow } from '../../contract/types';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { renderTable, writeJson, writeLine } from '../output';

export function registerSearchCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('search')
    .description('find workflows by user, tool, name, workflow_args, attribute, template, status or date')
    .option('--user <users>', 'users, comma-separated; !name excludes')
    .option('--tool <tool>')
    .option('--name <text>', 'substring of the name')
    .option('--args <text>', 'substring of workflow_args')
    .option('--attribute <k=v>', 'workflow attribute')
    .option('--template <name>', 'has a task template of this name')
    .option('--status <letters>', 'workflow status letters, e.g. R,F')
    .option('--from <date>', 'created on or after (YYYY-MM-DD)')
    .option('--to <date>', 'created up to and including (YYYY-MM-DD)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const query = {
        user: opts.user as string | undefined,
        tool: opts.tool as string | undefined,
        name: opts.name as string | undefined,
        workflow_args: opts.args as string | undefined,
        attribute: opts.attribute as string | undefined,
        template: opts.template as string | undefined,
        status: opts.status as string | undefined,
        from: opts.from as string | undefined,
        to: opts.to as string | undefined,
        limit: parsePositiveInt(String(opts.limit), '--limit'),
      };
      const res = await ctx.api(cmd).get<{ workflows: FoundWorkflow[]; total: number }>('/search/workflows', { query });
      if (opts.json) return writeJson(ctx.io, res);
      ctx.io.stdout.write(
        renderTable(
          ['WF_ID', 'WF_NAME', 'TOOL', 'USER', 'STATUS', 'CREATED', 'TASKS', '%DONE', 'WORKFLOW_ARGS'],
          res.workflows.map((w) => [
            w.id,
            w.name,
            w.tool,
            w.user,
            w.status_label,
            w.created_date.slice(0, 16),
            w.num_tasks,
            w.percent_done,
            w.workflow_args,
          ]),
        ),
      );
      if (res.total > res.workflows.length) writeLine(ctx.io, `(${res.workflows.length} of ${res.total} shown)`);
    });
}
