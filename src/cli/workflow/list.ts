/**
 * `jmt workflow list`: workflows, newest first, filtered by user, tool, name or status.
 */
import type { Command } from 'commander';
import type { WorkflowSummary } from '../../contract/types';
import { WORKFLOW_STATUSES } from '../../domain/statuses';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { renderTable, workflowStatusLabel, writeJson, writeLine } from '../output';
import { parseStatuses } from './statuses';

export function registerListCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('list')
    .description('workflows, newest first')
    .option('--user <user>', 'only workflows of this user')
    .option('--tool <tool>', 'only workflows of this tool')
    .option('--name <name>', 'only workflows with this name')
    .option('--status <letters>', 'workflow statuses, letters or labels, comma-separated (e.g. R,F or RUNNING)')
    .option('--limit <n>', 'at most this many workflows', '20')
    .option('--json', 'machine-readable output')
    .action(
      async (
        opts: { user?: string; tool?: string; name?: string; status?: string; limit: string; json?: boolean },
        cmd: Command,
      ) => {
        const limit = parsePositiveInt(opts.limit, '--limit');
        const status =
          opts.status === undefined ? undefined : parseStatuses(opts.status, WORKFLOW_STATUSES, {}, 'workflow status');
        const { workflows } = await ctx.api(cmd).get<{ workflows: WorkflowSummary[] }>('/workflows', {
          query: { user: opts.user, tool: opts.tool, name: opts.name, status, limit },
        });
        if (opts.json) return writeJson(ctx.io, { workflows });
        if (workflows.length === 0) return writeLine(ctx.io, 'no workflows match');
        ctx.io.stdout.write(
          renderTable(
            ['WF_ID', 'WF_NAME', 'TOOL', 'USER', 'WF_STATUS', 'CREATED_DATE', 'TASKS', '%DONE'],
            workflows.map((w) => [
              w.id,
              w.name,
              w.tool,
              w.user,
              workflowStatusLabel(w.status),
              w.created_date,
              w.num_tasks,
              Math.floor(w.percent_done),
            ]),
          ),
        );
      },
    );
}
