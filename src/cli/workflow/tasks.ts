/**
 * `jmt workflow tasks` and `jmt workflow template-dag`: a workflow's tasks, one page at a time, and
 * its DAG at template level with task counts per status.
 */
import type { Command } from 'commander';
import type { WorkflowTasks } from '../../contract/types';
import { TASK_STATUSES } from '../../domain/statuses';
import type { TemplateDag } from '../../contract/types';
import type { CliContext } from '../context';
import { CliUsageError, parseNonNegativeInt, parsePositiveInt } from '../errors';
import { renderTable, taskStatusText, writeJson, writeLine } from '../output';
import { BUCKETS, parseStatuses } from './statuses';

export function registerTasksCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('tasks')
    .description("a workflow's tasks, filtered by status, template or attribute")
    .argument('<id>', 'workflow id')
    .option(
      '--status <statuses>',
      'task status letters, labels or buckets (PENDING, SCHEDULED, RUNNING, DONE, FATAL), comma-separated',
    )
    .option('--template <name>', 'only tasks of this task template')
    .option('--attribute <key=value>', 'only tasks with this attribute value')
    .option('--limit <n>', 'at most this many tasks', '100')
    .option('--offset <n>', 'skip this many tasks first', '0')
    .option('--json', 'machine-readable output')
    .action(
      async (
        idText: string,
        opts: { status?: string; template?: string; attribute?: string; limit: string; offset: string; json?: boolean },
        cmd: Command,
      ) => {
        const id = parsePositiveInt(idText, 'workflow id');
        const limit = parsePositiveInt(opts.limit, '--limit');
        const offset = parseNonNegativeInt(opts.offset, '--offset');
        const bucketNames = Object.fromEntries(BUCKETS.map((b) => [b, b]));
        const status =
          opts.status === undefined ? undefined : parseStatuses(opts.status, TASK_STATUSES, bucketNames, 'task status');
        if (opts.attribute !== undefined && !/^[^=]+=/.test(opts.attribute)) {
          throw new CliUsageError(`--attribute must look like key=value, got ${JSON.stringify(opts.attribute)}`);
        }
        const result = await ctx.api(cmd).get<WorkflowTasks>(`/workflows/${id}/tasks`, {
          query: { status, template: opts.template, attribute: opts.attribute, limit, offset },
        });
        if (opts.json) return writeJson(ctx.io, result);
        if (result.tasks.length === 0)
          return writeLine(ctx.io, `no tasks match (workflow ${id} has ${result.total} matching in all)`);
        ctx.io.stdout.write(
          renderTable(
            ['TASK_ID', 'TASK_NAME', 'TEMPLATE', 'STATUS', 'ATTEMPTS'],
            result.tasks.map((t) => [
              t.id,
              t.name,
              t.template,
              taskStatusText(t.status),
              `${t.num_attempts}/${t.max_attempts}`,
            ]),
          ),
        );
        if (offset + result.tasks.length < result.total || offset > 0) {
          writeLine(
            ctx.io,
            `tasks ${offset + 1}–${offset + result.tasks.length} of ${result.total} (use --limit/--offset for more)`,
          );
        }
      },
    );
}

export function registerTemplateDagCommand(workflow: Command, ctx: CliContext): void {
  workflow
    .command('template-dag')
    .description('the DAG at template level, with task counts per status')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const dag = await ctx.api(cmd).get<TemplateDag>(`/workflows/${id}/template-dag`);
      if (opts.json) return writeJson(ctx.io, dag);
      ctx.io.stdout.write(
        renderTable(
          ['TEMPLATE', 'TASKS', ...BUCKETS],
          dag.nodes.map((n) => [n.template, n.total, ...BUCKETS.map((b) => n.buckets[b])]),
        ),
      );
      writeLine(ctx.io);
      ctx.io.stdout.write(
        renderTable(
          ['UPSTREAM', 'DOWNSTREAM', 'TASK_EDGES'],
          dag.edges.map((e) => [e.from, e.to, e.task_edges]),
        ),
      );
    });
}
