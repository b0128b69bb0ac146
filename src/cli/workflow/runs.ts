/**
 * `jmt workflow start` and `jmt workflow resume`: start a run, and with `--wait` watch it to its end
 * (exit 0 only if it finished DONE).
 *
 * Resume is cold by default, as in the API, the TypeScript, Python and R clients' run() (one
 * default everywhere, docs/converting.md "Resume"): jobs an earlier run left running are stopped
 * and their tasks run again. `--hot` lets them finish; `--reset-running` (Jobmon's flag for cold)
 * is accepted and changes nothing. The first line printed says which.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../../client/api-client';
import type { StartedRun, WorkflowStatusReport } from '../../contract/types';
import { progressPrinter, watchRun } from '../../client/watch';
import type { CliContext } from '../context';
import { CliUsageError, EXIT_RUN_NOT_DONE, parsePositiveInt } from '../errors';
import { runStatusText, writeJson, writeLine } from '../output';

export function registerRunCommands(workflow: Command, ctx: CliContext): void {
  workflow
    .command('resume')
    .description('start a new run of a workflow; tasks already DONE are not run again')
    .argument('<id>', 'workflow id')
    .option('--hot', 'hot resume: jobs an earlier run left running may finish and are adopted (default: cold)')
    .option(
      '--reset-running',
      "cold resume, the default: jobs an earlier run left running are stopped and run again (Jobmon's flag)",
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
      if (opts.hot && opts.resetRunning) throw new CliUsageError('--hot and --reset-running contradict each other');
      await startRun(ctx, cmd, idText, opts.hot ? 'hot' : 'cold', opts);
    });

  workflow
    .command('start')
    .description('start the first run of a bound workflow (same as resume)')
    .argument('<id>', 'workflow id')
    .option('--hot', 'hot resume: jobs an earlier run left running may finish and are adopted (default: cold)')
    .option('--wait', 'watch the run to its end; exit 0 if DONE, 1 otherwise')
    .option('--timeout <seconds>', 'with --wait: stop watching after this long (the run goes on)', '36000')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: StartOpts, cmd: Command) => {
      await startRun(ctx, cmd, idText, opts.hot ? 'hot' : 'cold', opts);
    });
}

/** What the first progress line says about the resume mode (the same wording as the clients'). */
export function resumeModeText(mode: 'cold' | 'hot'): string {
  return mode === 'cold'
    ? 'cold resume: jobs an earlier run left running are stopped and run again; --hot for hot'
    : 'hot resume: jobs an earlier run left running may finish';
}

interface StartOpts {
  hot?: boolean;
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
    writeLine(ctx.io, `workflow ${id}: run ${started.workflow_run_id} started (${resumeModeText(mode)})${scaled}`);
    writeLine(ctx.io, `Temporal UI: ${started.temporal_ui_url}`);
    return;
  }
  if (!opts.json)
    ctx.io.stderr.write(
      `workflow ${id}: run ${started.workflow_run_id} started (${resumeModeText(mode)}) — ${started.temporal_ui_url}\n`,
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
