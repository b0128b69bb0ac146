/**
 * Observer and debugger commands (issue 6, docs/observers.md). Each reads one API route and prints
 * a table or, with `--json`, the route's JSON unchanged. Added to the existing `workflow` and `task`
 * command groups, plus `tool`, `resources` and `share`.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { TaskDeps, FailurePaths, TemplateDag } from '../sql/observe/dag';
import type { ErrorGroupsView } from '../sql/observe/errors';
import type { FoundWorkflow } from '../sql/observe/find';
import type { InstanceLog, TemplateLogSummary } from '../sql/observe/logs';
import type { WorkflowProgress } from '../sql/observe/progress';
import type { ResourceRetries, TemplateUsage } from '../sql/observe/resources';
import type { ShareLink } from '../sql/observe/shares';
import type { CliContext } from './context';
import { CliUsageError, parsePositiveInt } from './errors';
import { formatBytes, renderTable, writeJson, writeLine } from './output';

const BUCKETS = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'] as const;

function duration(seconds: number | null | undefined): string | undefined {
  if (seconds === null || seconds === undefined) return undefined;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function subcommand(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

export async function printErrorGroups(
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

export function registerObserveCommands(program: Command, ctx: CliContext): void {
  const workflow = subcommand(program, 'workflow', 'inspect and control workflows');
  const task = subcommand(program, 'task', 'inspect tasks');

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
            duration(t.expected_runtime_s),
            t.basis,
            duration(t.remaining_work_s),
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
        `time: ${duration(p.wall_time_s) ?? '0s'} wall since the first run; ${p.cpu_hours} CPU-hours in ${p.instances} instances`,
      );
      writeLine(
        ctx.io,
        `now: ${p.running} running, ${p.waiting_in_queue} queued (median wait ${duration(p.queue_wait_s.current_median ?? p.queue_wait_s.recent_median) ?? '-'}); concurrency observed ${p.concurrency.observed}, effective ${p.concurrency.effective}`,
      );
      for (const r of p.risks)
        writeLine(
          ctx.io,
          `risk (${r.severity}): ${r.message}${r.example_task_ids.length ? ` [tasks ${r.example_task_ids.join(', ')}]` : ''}\n  → ${r.action}`,
        );
      if (p.run) writeLine(ctx.io, `Temporal: ${p.run.temporal_ui_url}`);
    });

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
        `  median wall time: succeeded ${duration(d.median_wallclock_s.succeeded) ?? '-'}, failed ${duration(d.median_wallclock_s.failed) ?? '-'}`,
      );
      writeLine(
        ctx.io,
        `  median max RSS: succeeded ${formatBytes(d.median_maxrss_bytes.succeeded) ?? '-'}, failed ${formatBytes(d.median_maxrss_bytes.failed) ?? '-'}`,
      );
      for (const n of d.notes) writeLine(ctx.io, `  - ${n}`);
    });

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
        `${r.tasks} tasks needed resource retries: ${r.resource_errors} resource errors, ${duration(r.wasted_wallclock_s) ?? '0s'} wall time and ${r.wasted_core_hours.toFixed(2)} core-hours spent on failed attempts`,
      );
      if (r.per_template.length) {
        ctx.io.stdout.write(
          renderTable(
            ['TEMPLATE', 'TASKS', 'RESOURCE_ERRORS', 'WASTED_WALL', 'WASTED_CORE_H'],
            r.per_template.map((t) => [
              t.template,
              t.tasks,
              t.resource_errors,
              duration(t.wasted_wallclock_s),
              Number(t.wasted_core_hours.toFixed(3)),
            ]),
          ),
        );
      }
    });

  workflow
    .command('share')
    .description('create a read-only link to this workflow’s GUI pages (revocable; paste it into an email)')
    .argument('<id>', 'workflow id')
    .option('--expires-hours <n>', 'valid for this many hours', '168')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { expiresHours: string; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const share = await ctx.api(cmd).post<ShareLink & { token: string; url: string }>(`/workflows/${id}/share`, {
        expires_in_hours: parsePositiveInt(opts.expiresHours, '--expires-hours'),
      });
      if (opts.json) return writeJson(ctx.io, share);
      writeLine(ctx.io, share.url);
      writeLine(
        ctx.io,
        `read-only, workflow ${id} only, valid until ${share.expires_date}; revoke with: jmt share revoke ${share.id}`,
      );
    });

  workflow
    .command('shares')
    .description('share links of a workflow')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const { shares } = await ctx.api(cmd).get<{ shares: ShareLink[] }>(`/workflows/${id}/shares`);
      if (opts.json) return writeJson(ctx.io, { shares });
      ctx.io.stdout.write(
        renderTable(
          ['SHARE_ID', 'CREATED_BY', 'CREATED', 'EXPIRES', 'REVOKED', 'ACTIVE'],
          shares.map((s) => [
            s.id,
            s.created_by,
            s.created_date,
            s.expires_date,
            s.revoked_date,
            s.active ? 'yes' : 'no',
          ]),
        ),
      );
    });

  const share = subcommand(program, 'share', 'read-only share links');
  share
    .command('revoke')
    .description('revoke a share link')
    .argument('<share-id>', 'share link id (from `jmt workflow share` or `jmt workflow shares`)')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'share id');
      const s = await ctx.api(cmd).request<ShareLink>('DELETE', `/shares/${id}`);
      if (opts.json) return writeJson(ctx.io, s);
      writeLine(ctx.io, `share link ${id} of workflow ${s.workflow_id} revoked`);
    });

  task
    .command('deps')
    .description('upstream and downstream tasks; with --failed, the paths to failed upstream tasks')
    .argument('<task-id>', 'task id')
    .option('--depth <n>', 'levels to follow', '1')
    .option('--failed', 'paths from this task up to failed (FATAL) upstream tasks')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { depth: string; failed?: boolean; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'task id');
      const api = ctx.api(cmd);
      if (opts.failed) {
        const fp = await api.get<FailurePaths>(`/tasks/${id}/failure-paths`);
        if (opts.json) return writeJson(ctx.io, fp);
        if (fp.note) writeLine(ctx.io, fp.note);
        for (const p of fp.paths)
          writeLine(
            ctx.io,
            `${p.path.join(' ← ')}   (task ${p.failed_task_id} ${p.failed_task_name} [${p.failed_template}] failed)`,
          );
        if (fp.failed_upstream > fp.paths.length)
          writeLine(ctx.io, `(${fp.paths.length} of ${fp.failed_upstream} failed upstream tasks shown)`);
        return;
      }
      const d = await api.get<TaskDeps>(`/tasks/${id}/dependencies`, {
        query: { depth: parsePositiveInt(opts.depth, '--depth') },
      });
      if (opts.json) return writeJson(ctx.io, d);
      writeLine(ctx.io, `task ${d.task.id} ${d.task.name} [${d.task.template}] ${d.task.status}`);
      const rows = [
        ...d.upstream.map((t) => ['upstream', t.depth, t.id, t.name, t.template, t.status] as const),
        ...d.downstream.map((t) => ['downstream', t.depth, t.id, t.name, t.template, t.status] as const),
      ];
      ctx.io.stdout.write(renderTable(['DIRECTION', 'DEPTH', 'TASK_ID', 'NAME', 'TEMPLATE', 'STATUS'], rows));
      if (d.upstream_truncated || d.downstream_truncated) writeLine(ctx.io, '(truncated at 500 per direction)');
    });

  task
    .command('logs')
    .description('stdout or stderr of a task instance (the log file recorded for it), tail or full')
    .argument('<task-instance-id>', 'task instance id (jmt task status <task-id> lists them)')
    .option('--stream <s>', 'stdout or stderr', 'stderr')
    .option('--tail <n>', 'last n lines', '100')
    .option('--full', 'the whole log (up to 8 MiB)')
    .option('--json', 'machine-readable output')
    .action(
      async (idText: string, opts: { stream: string; tail: string; full?: boolean; json?: boolean }, cmd: Command) => {
        const id = parsePositiveInt(idText, 'task instance id');
        if (opts.stream !== 'stdout' && opts.stream !== 'stderr')
          throw new CliUsageError('--stream must be stdout or stderr');
        const log = await ctx.api(cmd).get<InstanceLog>(`/task-instances/${id}/logs`, {
          query: { stream: opts.stream, tail: opts.full ? undefined : parsePositiveInt(opts.tail, '--tail') },
        });
        if (opts.json) return writeJson(ctx.io, log);
        ctx.io.stderr.write(
          `== ${log.stream} of task instance ${id} (task ${log.task_id}): ${log.path ?? 'no file'} [${log.source}${log.truncated ? ', truncated' : ''}]${log.note ? ` — ${log.note}` : ''}\n`,
        );
        ctx.io.stdout.write(log.text.endsWith('\n') || !log.text ? log.text : `${log.text}\n`);
      },
    );

  const tool = subcommand(program, 'tool', 'browse tools and their templates');
  tool
    .command('list')
    .description('tools with their number of workflows and templates')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const res = await ctx
        .api(cmd)
        .get<{ tools: { name: string; workflows: number; templates: number; last_workflow_date: string | null }[] }>(
          '/tools',
        );
      if (opts.json) return writeJson(ctx.io, res);
      ctx.io.stdout.write(
        renderTable(
          ['TOOL', 'WORKFLOWS', 'TEMPLATES', 'LAST_WORKFLOW'],
          res.tools.map((t) => [t.name, t.workflows, t.templates, t.last_workflow_date]),
        ),
      );
    });
  tool
    .command('templates')
    .description('templates of a tool (then: jmt workflow search --tool T --template X)')
    .argument('<tool>', 'tool name')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const res = await ctx.api(cmd).get<{
        templates: { name: string; versions: number; workflows: number; tasks: number; command_template: string }[];
      }>(`/tools/${encodeURIComponent(name)}/templates`);
      if (opts.json) return writeJson(ctx.io, res);
      ctx.io.stdout.write(
        renderTable(
          ['TEMPLATE', 'VERSIONS', 'WORKFLOWS', 'TASKS', 'COMMAND_TEMPLATE'],
          res.templates.map((t) => [t.name, t.versions, t.workflows, t.tasks, t.command_template]),
        ),
      );
    });

  program
    .command('resources')
    .description('resource usage history of a template, percentiles and a suggested request')
    .argument('<template>', 'task template name')
    .option('--tool <tool>', 'only this tool’s template of that name')
    .option('--workflow <id>', 'only this workflow')
    .option(
      '--node-arg <k=v>',
      'only tasks with this node arg (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--confidence <q>', 'quantile for the suggested request', '0.95')
    .option('--format <f>', 'table, json, csv (every instance) or yaml (for the control script)', 'table')
    .option('--json', 'same as --format json')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(
      async (
        template: string,
        opts: {
          tool?: string;
          workflow?: string;
          nodeArg: string[];
          confidence: string;
          format: string;
          json?: boolean;
          output?: string;
        },
        cmd: Command,
      ) => {
        const format = opts.json ? 'json' : opts.format;
        if (!['table', 'json', 'csv', 'yaml'].includes(format))
          throw new CliUsageError('--format must be table, json, csv or yaml');
        const confidence = Number(opts.confidence);
        if (!(confidence > 0 && confidence < 1))
          throw new CliUsageError('--confidence must be between 0 and 1, e.g. 0.95');
        for (const kv of opts.nodeArg)
          if (!/^[^=]+=/.test(kv)) throw new CliUsageError(`--node-arg must be k=v, got ${JSON.stringify(kv)}`);
        const query = {
          template,
          tool: opts.tool,
          workflow_id: opts.workflow === undefined ? undefined : parsePositiveInt(opts.workflow, '--workflow'),
          node_args: opts.nodeArg.length ? opts.nodeArg.join(',') : undefined,
          confidence,
        };
        const api = ctx.api(cmd);
        const emit = (text: string) => {
          if (opts.output) {
            writeFileSync(opts.output, text);
            ctx.io.stderr.write(`wrote ${opts.output}\n`);
          } else ctx.io.stdout.write(text);
        };
        if (format === 'csv' || format === 'yaml') {
          const res = await fetch(api.url('/resources/usage', { ...query, format }), { headers: authHeader(ctx, cmd) });
          const body = await res.text();
          if (!res.ok) {
            let message = body;
            try {
              message = (JSON.parse(body) as { error: { message: string } }).error.message;
            } catch {
              // not JSON: show as is
            }
            throw new CliUsageError(message);
          }
          return emit(body);
        }
        const u = await api.get<TemplateUsage>('/resources/usage', { query });
        if (format === 'json') return emit(`${JSON.stringify(u, null, 2)}\n`);
        const pct = (p: TemplateUsage['runtime_s'], f: (v: number | null) => string | number | undefined) => [
          p.n,
          f(p.p50),
          f(p.p90),
          f(p.p95),
          f(p.p99),
          f(p.max),
        ];
        let out = `${u.template}: ${u.instances} DONE instances${
          Object.keys(u.node_args).length
            ? ` with ${Object.entries(u.node_args)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}`
            : ''
        }\n`;
        out += renderTable(
          ['MEASURE', 'N', 'P50', 'P90', 'P95', 'P99', 'MAX'],
          [
            ['runtime', ...pct(u.runtime_s, duration)],
            ['max RSS', ...pct(u.maxrss_bytes, formatBytes)],
            ['cores used', ...pct(u.cores_used, (v) => (v === null ? undefined : Number(v.toFixed(2))))],
          ],
        );
        out += `requested: ${u.requested.cores ?? '-'} cores, ${u.requested.memory_gib ?? '-'}G, ${duration(u.requested.runtime_s) ?? '-'} on ${u.requested.cluster_name ?? '-'}/${u.requested.queue ?? '-'}\n`;
        out += u.suggested
          ? `suggested at ${u.confidence}: cores ${u.suggested.cores}, memory ${u.suggested.memory}, runtime ${u.suggested.runtime}${u.suggested.low_sample ? ' (few instances: rough guide)' : ''}\n`
          : 'no DONE instances: nothing to suggest yet\n';
        emit(out);
      },
    );
}

function authHeader(ctx: CliContext, cmd: Command): Record<string, string> {
  const token = ctx.config(cmd).token;
  return token ? { authorization: `Bearer ${token}` } : {};
}
