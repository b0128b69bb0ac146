/**
 * `jmt workflow ...`: read a workflow's state and steer its runs. Column names follow Jobmon's
 * `jobmon workflow status` so its users find what they expect; SCHEDULED (submitted, not yet
 * running) is shown because on a busy cluster it is where tasks wait.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../client/api-client';
import type {
  ConcurrencyLimits,
  ControlResult,
  ResetResult,
  StartedRun,
  WorkflowEvent,
  WorkflowErrorRow,
  WorkflowGrant,
  WorkflowStatusReport,
  WorkflowSummary,
  WorkflowTasks,
} from '../client/types';
import { percentDone, progressPrinter, watchRun } from '../client/watch';
import { TASK_STATUSES, WORKFLOW_STATUSES, type TaskBucket } from '../domain/statuses';
import type { CliContext } from './context';
import { printErrorGroups } from './observe';
import { CliUsageError, EXIT_RUN_NOT_DONE, parseNonNegativeInt, parsePositiveInt } from './errors';
import {
  firstLine,
  formatLimit,
  renderTable,
  runStatusText,
  taskStatusText,
  workflowStatusLabel,
  writeJson,
  writeLine,
} from './output';

const BUCKETS: readonly TaskBucket[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'];

export function registerWorkflowCommands(program: Command, ctx: CliContext): void {
  const workflow = program.command('workflow').description('inspect and control workflows');

  workflow
    .command('status')
    .description('task counts by state for one or more workflows, with the link to the run in the Temporal UI')
    .argument('<id...>', 'workflow ids')
    .option('--templates', 'also one row per task template')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], opts: { templates?: boolean; json?: boolean }, cmd: Command) => {
      const workflowIds = ids.map((id) => parsePositiveInt(id, 'workflow id'));
      const api = ctx.api(cmd);
      const reports: WorkflowStatusReport[] = [];
      for (const id of workflowIds) reports.push(await api.get<WorkflowStatusReport>(`/workflows/${id}/status`));
      if (opts.json) return writeJson(ctx.io, { workflows: reports });
      ctx.io.stdout.write(
        renderTable(
          ['WF_ID', 'WF_NAME', 'WF_STATUS', 'TASKS', ...BUCKETS, '%DONE'],
          reports.map((r) => [
            r.workflow_id,
            r.name,
            r.status_label,
            r.num_tasks,
            ...BUCKETS.map((b) => r.buckets[b]),
            percentDone(r.buckets.DONE, r.num_tasks),
          ]),
        ),
      );
      if (opts.templates) {
        writeLine(ctx.io);
        ctx.io.stdout.write(
          renderTable(
            ['WF_ID', 'TEMPLATE', 'MAX_RUNNING', 'TASKS', ...BUCKETS, '%DONE'],
            reports.flatMap((r) =>
              r.templates.map((t) => {
                const total = BUCKETS.reduce((sum, b) => sum + t.buckets[b], 0);
                return [
                  r.workflow_id,
                  t.name,
                  formatLimit(t.max_concurrently_running),
                  total,
                  ...BUCKETS.map((b) => t.buckets[b]),
                  percentDone(t.buckets.DONE, total),
                ];
              }),
            ),
          ),
        );
      }
      writeLine(ctx.io);
      for (const r of reports) {
        writeLine(
          ctx.io,
          r.run
            ? `wf ${r.workflow_id} run ${r.run.id} ${runStatusText(r.run.status)}: ${r.run.temporal_ui_url}`
            : `wf ${r.workflow_id}: no run yet — start it with \`jmt workflow start ${r.workflow_id}\``,
        );
        if (r.events?.length) {
          writeLine(
            ctx.io,
            `wf ${r.workflow_id} last controls (newest first; \`jmt workflow events ${r.workflow_id}\` for more):`,
          );
          for (const e of r.events) writeLine(ctx.io, `  ${formatEvent(e)}`);
        }
      }
    });

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

  workflow
    .command('resume')
    .description('start a new run of a workflow; tasks already DONE are not run again')
    .argument('<id>', 'workflow id')
    .option(
      '--reset-running',
      'cold resume: kill jobs of the previous run still running and rerun their tasks (default: hot, they are adopted)',
    )
    .option(
      '--keep-resources',
      'keep the resources of tasks whose last attempt failed for resources (default: scale them, as Jobmon)',
    )
    .option('--fail-fast', 'stop scheduling new tasks after the first task fails for good')
    .option('--wait', 'watch the run to its end; exit 0 if DONE, 1 otherwise')
    .option('--timeout <seconds>', 'with --wait: stop watching after this long (the run goes on)', '36000')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: StartOpts, cmd: Command) => {
      // Jobmon's CLI resumes hot unless --reset-running; the Python run() default is cold.
      await startRun(ctx, cmd, idText, opts.resetRunning ? 'cold' : 'hot', opts);
    });

  workflow
    .command('start')
    .description('start the first run of a bound workflow (same as resume)')
    .argument('<id>', 'workflow id')
    .option('--wait', 'watch the run to its end; exit 0 if DONE, 1 otherwise')
    .option('--timeout <seconds>', 'with --wait: stop watching after this long (the run goes on)', '36000')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: StartOpts, cmd: Command) => {
      await startRun(ctx, cmd, idText, 'hot', opts);
    });

  const control = (name: 'pause' | 'unpause', description: string, done: string) =>
    workflow
      .command(name)
      .description(description)
      .argument('<id>', 'workflow id')
      .option('--json', 'machine-readable output')
      .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
        const id = parsePositiveInt(idText, 'workflow id');
        const result = await ctx.api(cmd).post<ControlResult>(`/workflows/${id}/${name}`);
        if (opts.json) return writeJson(ctx.io, result);
        writeLine(ctx.io, `workflow ${id}: ${done}`);
      });
  control(
    'pause',
    'stop launching new tasks; running tasks go on',
    'paused (running tasks go on; nothing new starts until unpause)',
  );
  control('unpause', 'launch tasks again after pause', 'unpaused');

  workflow
    .command('stop')
    .description('end the active run, resumable: --drain (default) lets running tasks finish, --kill kills them')
    .argument('<id>', 'workflow id')
    .option('--drain', 'let running tasks finish; nothing new starts (the default)')
    .option('--kill', 'kill running tasks (their jobs are cancelled on the distributor) instead of letting them finish')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { drain?: boolean; kill?: boolean; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      if (opts.drain && opts.kill) throw new CliUsageError('choose one of --drain and --kill');
      const mode = opts.kill ? 'kill' : 'drain';
      const result = await ctx.api(cmd).post<ControlResult>(`/workflows/${id}/stop`, { mode });
      if (opts.json) return writeJson(ctx.io, result);
      writeLine(
        ctx.io,
        `workflow ${id}: stopping (${mode === 'kill' ? 'running tasks are being killed' : 'running tasks finish, nothing new starts'})`,
      );
    });

  workflow
    .command('reset')
    .description('every task back to REGISTERING with no attempts used (for debugging); refused while a run is active')
    .argument('<id>', 'workflow id')
    .option('--keep-done', 'leave DONE tasks DONE (Jobmon --partial)')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { keepDone?: boolean; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const result = await ctx
        .api(cmd)
        .post<ResetResult>(`/workflows/${id}/reset`, { keep_done: opts.keepDone ?? false });
      if (opts.json) return writeJson(ctx.io, result);
      writeLine(
        ctx.io,
        `workflow ${id}: reset ${result.reset} task(s) to REGISTERING${opts.keepDone ? `, kept ${result.kept_done} DONE` : ''}; start it with \`jmt workflow resume ${id}\``,
      );
    });

  workflow
    .command('events')
    .description('operator controls acted on a workflow (audit log), newest first')
    .argument('<id>', 'workflow id')
    .option('--limit <n>', 'at most this many events', '20')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { limit: string; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const limit = parsePositiveInt(opts.limit, '--limit');
      const { events } = await ctx
        .api(cmd)
        .get<{ events: WorkflowEvent[] }>(`/workflows/${id}/events`, { query: { limit } });
      if (opts.json) return writeJson(ctx.io, { events });
      if (events.length === 0) return writeLine(ctx.io, `workflow ${id}: no operator controls yet`);
      ctx.io.stdout.write(
        renderTable(
          ['TIME', 'USER', 'ACTION', 'RESULT', 'RUN', 'DETAILS'],
          events.map((e) => [e.created_date, e.user, e.action, e.result, e.workflow_run_id, eventDetails(e)]),
        ),
      );
    });

  workflow
    .command('grant')
    .description('let another operator act on a workflow as its owner could (owner or admin only)')
    .argument('<id>', 'workflow id')
    .argument('<user>', 'user name, as in JMT_TOKENS')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, user: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const grant = await ctx.api(cmd).post<WorkflowGrant & { created: boolean }>(`/workflows/${id}/grants`, { user });
      if (opts.json) return writeJson(ctx.io, grant);
      writeLine(
        ctx.io,
        grant.created
          ? `workflow ${id}: ${grant.user} may now act on it (operators only; revoke with \`jmt workflow revoke ${id} ${grant.user}\`)`
          : `workflow ${id}: ${grant.user} was already granted (by ${grant.granted_by}, ${grant.created_date}); nothing changed`,
      );
    });

  workflow
    .command('revoke')
    .description('withdraw a grant given with `jmt workflow grant` (owner or admin only)')
    .argument('<id>', 'workflow id')
    .argument('<user>', 'user name')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, user: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const removed = await ctx
        .api(cmd)
        .request<WorkflowGrant>('DELETE', `/workflows/${id}/grants/${encodeURIComponent(user)}`);
      if (opts.json) return writeJson(ctx.io, removed);
      writeLine(ctx.io, `workflow ${id}: grant of ${removed.user} revoked`);
    });

  workflow
    .command('grants')
    .description('who may act on a workflow: its owner and the users granted')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const result = await ctx.api(cmd).get<{ owner: string; grants: WorkflowGrant[] }>(`/workflows/${id}/grants`);
      if (opts.json) return writeJson(ctx.io, result);
      writeLine(ctx.io, `workflow ${id}: owner ${result.owner}${result.grants.length ? '' : '; no grants'}`);
      if (result.grants.length) {
        ctx.io.stdout.write(
          renderTable(
            ['USER', 'GRANTED_BY', 'SINCE'],
            result.grants.map((g) => [g.user, g.granted_by, g.created_date]),
          ),
        );
      }
    });

  workflow
    .command('concurrency')
    .description('change how many tasks may run at once, for the workflow or one template (0 pauses)')
    .argument('<id>', 'workflow id')
    .requiredOption('--limit <n>', 'the new limit (0 or more)')
    .option('--template <name>', 'limit this task template instead of the whole workflow')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { limit: string; template?: string; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const limit = parseNonNegativeInt(opts.limit, '--limit');
      const body = opts.template === undefined ? { limit } : { limit, template: opts.template };
      const limits = await ctx.api(cmd).put<ConcurrencyLimits>(`/workflows/${id}/concurrency`, body);
      if (opts.json) return writeJson(ctx.io, limits);
      const templates = Object.entries(limits.templates).map(([name, n]) => `${name}=${formatLimit(n)}`);
      writeLine(
        ctx.io,
        `workflow ${id}: limit ${formatLimit(limits.workflow)}${templates.length ? `; templates: ${templates.join(', ')}` : ''}`,
      );
    });
}

/** The interesting part of an event's details, on one line. */
function eventDetails(e: WorkflowEvent): string {
  const d = e.details;
  const parts: string[] = [];
  for (const key of [
    'user',
    'created',
    'resume_mode',
    'limit',
    'template',
    'status',
    'changed',
    'keep_done',
    'reset',
    'resources_increased',
    'killed_jobs',
  ]) {
    const v = d[key];
    if (v !== undefined && v !== null && v !== false && v !== 0)
      parts.push(`${key}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  if (e.result !== 'ok' && typeof d.message === 'string') parts.push(firstLine(d.message, 100) ?? '');
  return parts.join(' ');
}

function formatEvent(e: WorkflowEvent): string {
  const details = eventDetails(e);
  return `${e.created_date} ${e.user} ${e.action}${e.result === 'ok' ? '' : ` (refused: ${e.result})`}${details ? ` ${details}` : ''}`;
}

interface StartOpts {
  resetRunning?: boolean;
  keepResources?: boolean;
  failFast?: boolean;
  wait?: boolean;
  timeout: string;
  json?: boolean;
}

async function startRun(
  ctx: CliContext,
  cmd: Command,
  idText: string,
  mode: 'cold' | 'hot',
  opts: StartOpts,
): Promise<void> {
  const id = parsePositiveInt(idText, 'workflow id');
  const timeoutS = parsePositiveInt(opts.timeout, '--timeout');
  const api = ctx.api(cmd);
  const body = {
    resume_mode: mode,
    fail_fast: opts.failFast ?? false,
    ...(opts.keepResources ? { keep_resources: true } : {}),
  };
  const started = await api.post<StartedRun>(`/workflows/${id}/runs`, body);
  const scaled = started.resources_increased
    ? `; resources scaled for ${started.resources_increased} task(s) that failed for resources`
    : '';
  if (!opts.wait) {
    if (opts.json) return writeJson(ctx.io, started);
    writeLine(ctx.io, `workflow ${id}: run ${started.workflow_run_id} started (${mode})${scaled}`);
    writeLine(ctx.io, `Temporal UI: ${started.temporal_ui_url}`);
    return;
  }
  if (!opts.json)
    ctx.io.stderr.write(
      `workflow ${id}: run ${started.workflow_run_id} started (${mode}) — ${started.temporal_ui_url}\n`,
    );
  const final = await watchUntilDone(ctx, api, id, started.workflow_run_id, timeoutS, !opts.json);
  const status = (final.run as NonNullable<WorkflowStatusReport['run']>).status;
  if (status !== 'D') ctx.exitCode = EXIT_RUN_NOT_DONE;
  if (opts.json) return writeJson(ctx.io, { ...started, final_status: status, workflow: final });
  writeLine(ctx.io, `workflow ${id}: run ${started.workflow_run_id} finished ${runStatusText(status)}`);
}

async function watchUntilDone(
  ctx: CliContext,
  api: ApiClient,
  id: number,
  runId: number,
  timeoutS: number,
  progress: boolean,
): Promise<WorkflowStatusReport> {
  const say = (line: string) => ctx.io.stderr.write(`${line}\n`);
  let warned = false;
  return watchRun(api, id, {
    runId,
    timeoutMs: timeoutS * 1000,
    onStatus: progress ? progressPrinter(say) : undefined,
    onTransientError: (err) => {
      if (!warned && progress) say(`[wf ${id}] status unavailable (${err.message}); still waiting`);
      warned = true;
    },
  });
}

/**
 * Statuses typed as letters (`R,F`), labels (`RUNNING`) or extra names (task buckets), checked here
 * so a typo is an exit-2 line naming the choices instead of an empty table.
 */
function parseStatuses(
  text: string,
  labels: Record<string, string>,
  extra: Record<string, string>,
  what: string,
): string {
  const byLabel = Object.fromEntries(Object.entries(labels).map(([letter, label]) => [label, letter]));
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const token = raw.trim();
    if (token === '') continue;
    const upper = token.toUpperCase();
    const value =
      token in labels
        ? token
        : (extra[upper] ?? byLabel[upper] ?? (upper in labels && token.length === 1 ? upper : undefined));
    if (value === undefined) {
      const choices = [...Object.keys(labels), ...Object.keys(extra)].join(', ');
      throw new CliUsageError(`unknown ${what} ${JSON.stringify(token)}; choose from ${choices} (or their labels)`);
    }
    if (!out.includes(value)) out.push(value);
  }
  if (out.length === 0) throw new CliUsageError(`--status needs at least one ${what}`);
  return out.join(',');
}
