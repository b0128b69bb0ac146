/**
 * `jmt task status <id...>`: a task's attempts (TaskInstances) — where each ran, how it ended,
 * what it used and where its logs are — which is what a user needs to debug a failing task.
 */
import type { Command } from 'commander';
import type { SetStatusResult, TaskDetails } from '../contract/types';
import type { CliContext } from './context';
import { registerTaskDepsCommand } from './task-deps';
import { registerTaskLogsCommand } from './task-logs';
import { CliUsageError, parsePositiveInt } from './errors';
import {
  firstLine,
  formatBytes,
  formatSeconds,
  renderTable,
  taskInstanceStatusText,
  taskStatusText,
  writeJson,
  writeLine,
} from './output';

export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const task = program.command('task').description('inspect tasks and set their status');
  registerTaskStatusCommand(task, ctx);
  registerTaskSetStatusCommand(task, ctx);
  registerTaskDepsCommand(task, ctx);
  registerTaskLogsCommand(task, ctx);
}

/** `jmt task status <id...>`: each task's line, then a table of its instances. */
function registerTaskStatusCommand(task: Command, ctx: CliContext): void {
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
        const mem = t.memory_request;
        if (mem)
          writeLine(
            ctx.io,
            `  memory: ${mem.job_mb} MB asked of Slurm = the task's ${mem.task_mb} MB + the wrapper's ${mem.wrapper_mb} MB`,
          );
        if (d.instances.length === 0) return writeLine(ctx.io, '  no task instances yet');
        ctx.io.stdout.write(
          renderTable(
            [
              'TI_ID',
              'STATUS',
              'DISTRIBUTOR_ID',
              'NODE',
              'EXIT',
              'WALL_S',
              'MAX_RSS',
              'STDOUT',
              'STDERR',
              'LAST_ERROR',
            ],
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

/** `jmt task set-status`: select tasks (by id, template, attribute, status, node arg) and set D or G. */
function registerTaskSetStatusCommand(task: Command, ctx: CliContext): void {
  task
    .command('set-status')
    .description('mark selected tasks DONE (D) or run them again (G, their descendants too); --dry-run previews')
    .requiredOption('--workflow <id>', 'workflow id')
    .requiredOption('--status <status>', 'D (DONE) or G (run again; Jobmon REGISTERING)')
    .option('--task <ids...>', 'task ids (repeatable)')
    .option('--template <name>', 'tasks of this task template')
    .option('--attribute <key=value>', 'tasks with this attribute value (repeatable: all must match)', collect, [])
    .option('--status-filter <statuses>', 'tasks now in these statuses, comma-separated letters or buckets (e.g. F,E)')
    .option('--node-arg <key=value>', 'tasks with this node arg value (repeatable: all must match)', collect, [])
    .option('-r, --recursive', 'D: also mark every upstream task not DONE (G always includes the descendants)')
    .option(
      '-f, --force',
      'also change tasks with a queued or running job: their jobs are killed through the run first',
    )
    .option('--dry-run', 'show how many tasks would change, per template and status, and change nothing')
    .option('-y, --yes', 'confirm a change of more than 1,000 tasks')
    .option('--json', 'machine-readable output')
    .action(async (opts: SetStatusOpts, cmd: Command) => {
      const workflowId = parsePositiveInt(opts.workflow, '--workflow');
      const status = parseTargetStatus(opts.status);
      const body = setStatusBody(opts, status);
      if (!body.task_ids && body.template === undefined && !body.attributes && !body.status_filter && !body.node_args) {
        throw new CliUsageError(
          'select tasks with --task, --template, --attribute, --status-filter or --node-arg (`jmt workflow reset` changes a whole workflow)',
        );
      }
      const result = await ctx.api(cmd).post<SetStatusResult>(`/workflows/${workflowId}/tasks/set-status`, body);
      if (opts.json) return writeJson(ctx.io, result);
      printSetStatus(ctx, workflowId, status, result);
    });
}

interface SetStatusOpts {
  workflow: string;
  status: string;
  task?: string[];
  template?: string;
  attribute: string[];
  statusFilter?: string;
  nodeArg: string[];
  recursive?: boolean;
  force?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Jobmon accepts the letters and the names (`jobmon task update -s DONE|REGISTERED`). */
function parseTargetStatus(text: string): 'D' | 'G' {
  const upper = text.trim().toUpperCase();
  if (upper === 'D' || upper === 'DONE') return 'D';
  if (upper === 'G' || upper === 'REGISTERING' || upper === 'REGISTERED') return 'G';
  throw new CliUsageError(`--status must be D (DONE) or G (run again), got ${JSON.stringify(text)}`);
}

function parsePairs(items: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliUsageError(`${what} must look like key=value, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** The set-status request from the flags (absent selectors stay absent). */
function setStatusBody(opts: SetStatusOpts, status: 'D' | 'G') {
  return {
    status,
    ...(opts.task ? { task_ids: opts.task.map((t) => parsePositiveInt(t, '--task')) } : {}),
    ...(opts.template !== undefined ? { template: opts.template } : {}),
    ...(opts.attribute.length ? { attributes: parsePairs(opts.attribute, '--attribute') } : {}),
    ...(opts.statusFilter !== undefined
      ? {
          status_filter: opts.statusFilter
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        }
      : {}),
    ...(opts.nodeArg.length ? { node_args: parsePairs(opts.nodeArg, '--node-arg') } : {}),
    recursive: opts.recursive ?? false,
    force: opts.force ?? false,
    dry_run: opts.dryRun ?? false,
    confirm: opts.yes ?? false,
  };
}

/** What changed (or would: --dry-run), per template and status, and what to do next. */
function printSetStatus(ctx: CliContext, workflowId: number, status: 'D' | 'G', result: SetStatusResult): void {
  const label = status === 'D' ? 'DONE' : 'REGISTERING (run again)';
  if (result.changed > 0) {
    ctx.io.stdout.write(
      renderTable(
        ['TEMPLATE', 'FROM_STATUS', 'TASKS'],
        result.by_template.map((t) => [t.template, taskStatusText(t.status), t.n]),
      ),
    );
  }
  const extra = status === 'G' ? 'descendants' : 'upstream tasks';
  if (result.dry_run) {
    writeLine(
      ctx.io,
      `workflow ${workflowId}: ${result.changed} task(s) would be set to ${label} (${result.selected} selected, ${result.propagated} ${extra} added); nothing changed`,
    );
    if (result.needs_force)
      writeLine(ctx.io, `${result.running} of them have a queued or running job: add --force to kill those jobs first`);
    if (result.needs_confirm) writeLine(ctx.io, 'more than 1,000 tasks: add --yes to apply');
    return;
  }
  writeLine(
    ctx.io,
    `workflow ${workflowId}: ${result.changed} task(s) set to ${label} (${result.selected} selected, ${result.propagated} ${extra} added)${result.killed_jobs ? `; ${result.killed_jobs} job(s) killed` : ''}`,
  );
  if (result.workflow_run_id === null && result.changed > 0 && status === 'G')
    writeLine(ctx.io, `no run is active: \`jmt workflow resume ${workflowId}\` runs them`);
}
