/**
 * `jmt workflow status` and `jmt workflow events`: task counts by state, the run's Temporal link and
 * the operator controls acted on the workflow. Column names follow Jobmon's `jobmon workflow status`
 * so its users find what they expect; SCHEDULED (submitted, not yet running) is shown because on a
 * busy cluster it is where tasks wait.
 */
import type { Command } from 'commander';
import type { WorkflowEvent, WorkflowStatusReport } from '../../contract/types';
import { percentDone } from '../../client/watch';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { firstLine, formatLimit, renderTable, runStatusText, writeJson, writeLine } from '../output';
import { BUCKETS } from './statuses';

export function registerStatusCommand(workflow: Command, ctx: CliContext): void {
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
}

export function registerEventsCommand(workflow: Command, ctx: CliContext): void {
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
