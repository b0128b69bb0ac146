/**
 * Runs and controls (operator → server): start or resume a run, pause, stop, change concurrency.
 * Each goes through src/control/runs.ts, the only code that talks to Temporal about a run. The
 * owner check comes first so an unauthorised request never reaches Temporal.
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { controlRun, setConcurrency, startRun, type ControlAction, type RunDeps } from '../../control/runs';
import type { OperatorAction } from '../../sql/events';
import { hasRun } from '../../sql/runs';
import { audited, type AuditOutcome } from '../audit';
import { assertMayActOn } from '../auth';
import type { AppEnv, RouteDeps } from '../deps';
import {
  ConcurrencyLimitsSchema,
  ConcurrencySchema,
  ControlResultSchema,
  ErrorSchema,
  errorResponses,
  json,
  jsonBody,
  StartedRunSchema,
  StartRunSchema,
  StopSchema,
  WorkflowIdParams,
} from '../../contract/schemas';
import { isTemporalUnreachable, temporalUnavailable } from '../temporal';

const tags = ['runs'];
const unavailable = { 503: json(ErrorSchema, 'Temporal is unavailable (code temporal_unavailable)') };

const startRoute = createRoute({
  method: 'post',
  path: '/workflows/{id}/runs',
  tags,
  summary: 'Start a run of the workflow (or resume it: cold kills live jobs first, hot adopts them)',
  request: { params: WorkflowIdParams, body: jsonBody(StartRunSchema, false) },
  responses: { 201: json(StartedRunSchema, 'Run started'), ...errorResponses, ...unavailable },
});

const controlRoute = (action: 'pause' | 'unpause', summary: string) =>
  createRoute({
    method: 'post',
    path: `/workflows/{id}/${action}`,
    tags,
    summary,
    request: { params: WorkflowIdParams },
    responses: { 200: json(ControlResultSchema, 'Applied to the active run'), ...errorResponses, ...unavailable },
  });
const pauseRoute = controlRoute('pause', 'Stop scheduling new tasks; running jobs continue');
const unpauseRoute = controlRoute('unpause', 'Resume scheduling');

const stopRoute = createRoute({
  method: 'post',
  path: '/workflows/{id}/stop',
  tags,
  summary: 'Stop the active run: drain (let running jobs finish) or kill them',
  request: { params: WorkflowIdParams, body: jsonBody(StopSchema, false) },
  responses: { 200: json(ControlResultSchema, 'Stop requested'), ...errorResponses, ...unavailable },
});

const concurrencyRoute = createRoute({
  method: 'put',
  path: '/workflows/{id}/concurrency',
  tags,
  summary: 'Change the limit of concurrently running tasks of the workflow or of one template',
  request: { params: WorkflowIdParams, body: jsonBody(ConcurrencySchema) },
  responses: { 200: json(ConcurrencyLimitsSchema, 'Limits now in force'), ...errorResponses, ...unavailable },
});

// Long: a flat list of one short handler per run route (start, resume, runs, limits), in route order.
export function runRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  /**
   * Owner check, then the Temporal client; Temporal going away mid-call is a 503 too. Whatever
   * happens after the owner check is recorded in the workflow's audit log (src/api/audit.ts).
   */
  async function withRun<T>(
    c: Context<AppEnv>,
    workflowId: number,
    fn: (runDeps: RunDeps) => Promise<T>,
    audit: {
      action: OperatorAction;
      details?: Record<string, unknown>;
      outcome?: (result: NoInfer<T>) => AuditOutcome;
    },
  ): Promise<T> {
    const identity = c.get('identity');
    await assertMayActOn(deps.db, identity, workflowId);
    return audited(
      deps.db,
      identity,
      workflowId,
      audit.action,
      audit.details ?? {},
      async () => {
        const temporal = await deps.temporal();
        try {
          return await fn({ db: deps.db, temporal, config: deps.config });
        } catch (err) {
          if (isTemporalUnreachable(err)) throw temporalUnavailable(err instanceof Error ? err.message : String(err));
          throw err;
        }
      },
      audit.outcome,
    );
  }

  app.openapi(startRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    // The first run of a workflow is a start; any later one resumes it (Jobmon's words).
    const earlier = await hasRun(deps.db, id);
    const details = {
      resume_mode: body.resume_mode ?? 'cold',
      fail_fast: body.fail_fast ?? false,
      keep_resources: body.keep_resources ?? false,
    };
    const run = await withRun(
      c,
      id,
      (runDeps) =>
        startRun(runDeps, id, {
          user: c.get('identity').user,
          resumeMode: body.resume_mode,
          failFast: body.fail_fast,
          keepResources: body.keep_resources,
        }),
      {
        action: earlier ? 'resume' : 'start',
        details,
        outcome: (r) => ({ workflowRunId: r.workflowRunId, details: { resources_increased: r.resourcesIncreased } }),
      },
    );
    return c.json(
      {
        workflow_run_id: run.workflowRunId,
        temporal_workflow_id: run.temporalWorkflowId,
        temporal_run_id: run.temporalRunId,
        temporal_ui_url: run.temporalUiUrl,
        resources_increased: run.resourcesIncreased,
      },
      201,
    );
  });

  const control = (action: ControlAction, label: string) => async (c: Context<AppEnv>, id: number) => {
    await withRun(c, id, (runDeps) => controlRun(runDeps, id, action), {
      action,
      outcome: (r) => ({ workflowRunId: r.workflowRunId }),
    });
    return { workflow_id: id, action: label };
  };
  const pause = control('pause', 'pause');
  const unpause = control('unpause', 'unpause');
  const stopDrain = control('stop-drain', 'stop-drain');
  const stopKill = control('stop-kill', 'stop-kill');

  app.openapi(pauseRoute, async (c) => c.json(await pause(c, c.req.valid('param').id), 200));
  app.openapi(unpauseRoute, async (c) => c.json(await unpause(c, c.req.valid('param').id), 200));
  app.openapi(stopRoute, async (c) => {
    const { id } = c.req.valid('param');
    // An absent body means drain: the gentle stop is the default, killing jobs must be asked for.
    const mode = c.req.valid('json').mode ?? 'drain';
    return c.json(await (mode === 'kill' ? stopKill : stopDrain)(c, id), 200);
  });

  app.openapi(concurrencyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { limit, template } = c.req.valid('json');
    const limits = await withRun(
      c,
      id,
      (runDeps) => setConcurrency(runDeps, id, template === undefined ? { limit } : { limit, template }),
      {
        action: 'concurrency',
        details: { limit, template: template ?? null },
        outcome: (l) => ({ details: { in_force: l } }),
      },
    );
    return c.json({ workflow: limits.workflow, templates: limits.templates }, 200);
  });

  return app;
}
