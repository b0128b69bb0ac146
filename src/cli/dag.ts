/**
 * `jmt workflow dag <id> [--tasks]` (issue 6, part 3): the DAG as text, in longest-path levels.
 * Always the template-level graph with task counts per status; with --tasks also every task and
 * task-level edge, which the API refuses (one line, exit 2) for workflows over its task limit.
 */
import type { Command } from 'commander';
import { longestPathLevels } from '../domain/dag-levels';
import type { TemplateDag } from '../contract/types';
import type { TaskDag } from '../contract/types';
import type { CliContext } from './context';
import { parsePositiveInt } from './errors';
import { renderTable, writeJson, writeLine } from './output';

const BUCKETS = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'] as const;

export function registerDagCommand(program: Command, ctx: CliContext): void {
  const workflow =
    program.commands.find((c) => c.name() === 'workflow') ??
    program.command('workflow').description('inspect and control workflows');
  workflow
    .command('dag')
    .description('the DAG in levels: templates with task counts per status; --tasks adds every task and edge')
    .argument('<id>', 'workflow id')
    .option('--tasks', 'also list tasks and task-level edges (small workflows only: the API names its limit)')
    .option('--json', 'machine-readable output: the template-dag route’s JSON, or the task-dag route’s with --tasks')
    .action(async (idText: string, opts: { tasks?: boolean; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const api = ctx.api(cmd);
      // Both are fetched before anything is printed, so a refused --tasks is one error line, not
      // half a picture followed by an error.
      const [templates, tasks] = await Promise.all([
        api.get<TemplateDag>(`/workflows/${id}/template-dag`),
        opts.tasks ? api.get<TaskDag>(`/workflows/${id}/task-dag`) : Promise.resolve(undefined),
      ]);
      if (opts.json) return writeJson(ctx.io, tasks ?? templates);
      printTemplates(ctx, id, templates);
      if (tasks) printTasks(ctx, tasks);
    });
}

function countsText(buckets: Record<(typeof BUCKETS)[number], number>): string {
  return BUCKETS.filter((b) => buckets[b] > 0)
    .map((b) => `${b} ${buckets[b]}`)
    .join(', ');
}

function printTemplates(ctx: CliContext, id: number, dag: TemplateDag): void {
  const names = dag.nodes.map((n) => n.template);
  const index = new Map(names.map((n, i) => [n, i]));
  const level = longestPathLevels(
    names.length,
    dag.edges.filter((e) => index.has(e.from) && index.has(e.to)).map((e) => [index.get(e.from)!, index.get(e.to)!]),
  );
  const total = { PENDING: 0, SCHEDULED: 0, RUNNING: 0, DONE: 0, FATAL: 0 };
  for (const n of dag.nodes) for (const b of BUCKETS) total[b] += n.buckets[b];
  const numTasks = dag.nodes.reduce((s, n) => s + n.total, 0);
  writeLine(
    ctx.io,
    `workflow ${id}: ${numTasks} tasks in ${names.length} template${names.length === 1 ? '' : 's'}; ${countsText(total) || 'no tasks'}`,
  );
  const upstreamOf = (t: string) =>
    dag.edges
      .filter((e) => e.to === t && e.from !== t)
      .map((e) => `${e.from} (${e.task_edges})`)
      .join(', ');
  const rows = dag.nodes
    .map((n, i) => ({ n, level: level[i] }))
    .sort((a, b) => a.level - b.level || a.n.template.localeCompare(b.n.template))
    .map(({ n, level: l }) => [l, n.template, n.total, ...BUCKETS.map((b) => n.buckets[b]), upstreamOf(n.template)]);
  writeLine(ctx.io);
  ctx.io.stdout.write(renderTable(['LEVEL', 'TEMPLATE', 'TASKS', ...BUCKETS, 'UPSTREAM (TASK EDGES)'], rows));
}

function printTasks(ctx: CliContext, dag: TaskDag): void {
  const byId = new Map(dag.tasks.map((t) => [t.id, t]));
  writeLine(ctx.io);
  writeLine(
    ctx.io,
    `${dag.num_tasks} tasks in ${dag.levels} level${dag.levels === 1 ? '' : 's'}; ${countsText(dag.buckets) || 'no tasks'}` +
      (dag.failed ? `; ${dag.failed} failed (✗), ${dag.blocked_by_failure} waiting on a failed task (!)` : ''),
  );
  ctx.io.stdout.write(
    renderTable(
      ['LEVEL', 'TASK', 'NAME', 'TEMPLATE', 'STATUS'],
      dag.tasks.map((t) => [
        t.level,
        t.id,
        t.name,
        t.template,
        `${t.status} ${t.status_label}${t.status === 'F' ? ' ✗' : t.blocked_by_failure ? ' !' : ''}`,
      ]),
    ),
  );
  const onPath = dag.edges.filter((e) => e.on_failure_path).length;
  writeLine(ctx.io);
  writeLine(
    ctx.io,
    `${dag.edges.length} task edge${dag.edges.length === 1 ? '' : 's'}` +
      (onPath ? ` (${onPath} on a path to a failed task, marked !)` : ''),
  );
  for (const e of dag.edges) {
    const a = byId.get(e.from)!;
    const b = byId.get(e.to)!;
    writeLine(ctx.io, `${e.on_failure_path ? '!' : ' '} ${a.id} ${a.name} → ${b.id} ${b.name}`);
  }
}
