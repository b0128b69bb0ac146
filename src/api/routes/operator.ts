/**
 * Operator controls on tasks (issue 5): set the status of selected tasks (Jobmon's `task update`),
 * reset a workflow (Jobmon's `workflow reset`), grant other operators the right to act on a
 * workflow, and read the audit log every control writes.
 * Role and owner checks first (src/api/auth.ts), then the control, then the audit record.
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { JobmonError, notFound } from '../../domain/errors';
import { resetWorkflowTasks, setTaskStatuses } from '../../control/task-status';
import { listEvents } from '../../sql/events';
import { addGrant, listGrants, removeGrant } from '../../sql/grants';
import { parseTaskStatuses } from '../../sql/reads/workflow-tasks';
import { workflowExists, workflowOwner } from '../../sql/workflows';
import { audited, auditedTransaction } from '../audit';
import { assertMayActOn } from '../auth';
import type { AppEnv, RouteDeps } from '../deps';
import {
  EventsQuery,
  GrantParams,
  GrantResultSchema,
  GrantSchema,
  ResetResultSchema,
  ResetSchema,
  SetStatusResultSchema,
  SetStatusSchema,
  WorkflowEventsSchema,
  WorkflowGrantSchema,
  WorkflowGrantsSchema,
} from '../../contract/operator';
import { ErrorSchema, errorResponses, json, jsonBody, WorkflowIdParams } from '../../contract/schemas';
import { isTemporalUnreachable, temporalUnavailable } from '../temporal';

const tags = ['controls'];
const unavailable = { 503: json(ErrorSchema, 'Temporal is unavailable (code temporal_unavailable)') };

const setStatusRoute = createRoute({
  method: 'post',
  path: '/workflows/{id}/tasks/set-status',
  tags,
  summary: 'Mark selected tasks DONE (D) or run them again (G, with their descendants); dry_run previews',
  request: { params: WorkflowIdParams, body: jsonBody(SetStatusSchema) },
  responses: {
    200: json(SetStatusResultSchema, 'Applied, or previewed with dry_run'),
    ...errorResponses,
    ...unavailable,
  },
});

const resetRoute = createRoute({
  method: 'post',
  path: '/workflows/{id}/reset',
  tags,
  summary: 'Every task (or every task not DONE with keep_done) back to REGISTERING; refused while a run is active',
  request: { params: WorkflowIdParams, body: jsonBody(ResetSchema, false) },
  responses: { 200: json(ResetResultSchema, 'Reset'), ...errorResponses },
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/workflows/{id}/events',
  tags,
  summary: 'Audit log of the operator controls acted on the workflow, newest first',
  request: { params: WorkflowIdParams, query: EventsQuery },
  responses: { 200: json(WorkflowEventsSchema, 'Events'), ...errorResponses },
});

const grantsRoute = createRoute({
  method: 'get',
  path: '/workflows/{id}/grants',
  tags,
  summary: 'Users granted the right to act on the workflow besides its owner',
  request: { params: WorkflowIdParams },
  responses: { 200: json(WorkflowGrantsSchema, 'Owner and grants in force'), ...errorResponses },
});

const grantRoute = createRoute({
  method: 'post',
  path: '/workflows/{id}/grants',
  tags,
  summary: 'Let another operator act on the workflow as its owner could (owner or admin only)',
  request: { params: WorkflowIdParams, body: jsonBody(GrantSchema) },
  responses: {
    201: json(GrantResultSchema, 'Granted'),
    200: json(GrantResultSchema, 'The user already held this grant; nothing changed'),
    ...errorResponses,
  },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/workflows/{id}/grants/{user}',
  tags,
  summary: 'Withdraw a grant (owner or admin only); 404 grant_not_found if the user holds none',
  request: { params: GrantParams },
  responses: { 200: json(WorkflowGrantSchema, 'The grant that was removed'), ...errorResponses },
});

// Long: a flat list of one short handler per operator control, in the order the routes are defined.
export function operatorRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(setStatusRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const identity = c.get('identity');
    await assertMayActOn(deps.db, identity, id);
    const request = {
      status: body.status,
      selection: {
        taskIds: body.task_ids,
        template: body.template,
        attributes: body.attributes,
        statuses: body.status_filter ? parseTaskStatuses(body.status_filter.join(','), 'status_filter') : undefined,
        nodeArgs: body.node_args,
      },
      recursive: body.recursive,
      force: body.force,
      confirm: body.confirm,
    };
    const run = async () => {
      try {
        return await setTaskStatuses({ db: deps.db, temporal: deps.temporal }, id, request, body.dry_run);
      } catch (err) {
        if (isTemporalUnreachable(err)) throw temporalUnavailable(err instanceof Error ? err.message : String(err));
        throw err;
      }
    };
    // A preview changes nothing, so it is not a control to record.
    if (body.dry_run) return c.json(await run(), 200);
    const details = {
      status: body.status,
      selection: {
        task_ids: body.task_ids?.slice(0, 100),
        task_ids_count: body.task_ids?.length,
        template: body.template,
        attributes: body.attributes,
        status_filter: body.status_filter,
        node_args: body.node_args,
      },
      recursive: body.recursive,
      force: body.force,
    };
    const outcome = await audited(deps.db, identity, id, 'set-status', details, run, (r) => ({
      workflowRunId: r.workflow_run_id,
      details: {
        selected: r.selected,
        changed: r.changed,
        propagated: r.propagated,
        by_template: r.by_template,
        killed_jobs: r.killed_jobs,
      },
    }));
    return c.json(outcome, 200);
  });

  app.openapi(resetRoute, async (c) => {
    const { id } = c.req.valid('param');
    const keepDone = c.req.valid('json').keep_done ?? false;
    const identity = c.get('identity');
    await assertMayActOn(deps.db, identity, id);
    const result = await audited(
      deps.db,
      identity,
      id,
      'reset',
      { keep_done: keepDone },
      () => resetWorkflowTasks(deps, id, keepDone),
      (r) => ({
        details: { reset: r.reset, kept_done: r.keptDone },
      }),
    );
    return c.json({ workflow_id: id, reset: result.reset, kept_done: result.keptDone, status: 'G' }, 200);
  });

  app.openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await workflowExists(deps.db, id))) throw notFound('workflow', id, 'id');
    return c.json({ events: await listEvents(deps.db, id, c.req.valid('query').limit) }, 200);
  });

  app.openapi(grantsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const owner = await workflowOwner(deps.db, id);
    if (owner === undefined) throw notFound('workflow', id, 'id');
    return c.json({ owner, grants: await listGrants(deps.db, id) }, 200);
  });

  app.openapi(grantRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { user } = c.req.valid('json');
    const identity = c.get('identity');
    // Grants are the owner's to give: a grantee passing the workflow on would be a door nobody closed.
    await assertMayActOn(deps.db, identity, id, { grants: false });
    // The grant row and its event in one transaction: a grant is never stored unrecorded.
    const result = await auditedTransaction(
      deps.db,
      identity,
      id,
      'grant',
      { user },
      async (trx) => {
        // assertMayActOn above found the workflow, so it has an owner.
        if ((await workflowOwner(trx, id)) === user) {
          throw new JobmonError('invalid', `user: ${user} owns workflow ${id} and needs no grant`, 'user', 'owner');
        }
        return addGrant(trx, id, user, identity.user);
      },
      (r) => ({ details: { created: r.created } }),
    );
    return c.json({ ...result.grant, created: result.created }, result.created ? 201 : 200);
  });

  app.openapi(revokeRoute, async (c) => {
    const { id, user } = c.req.valid('param');
    const identity = c.get('identity');
    await assertMayActOn(deps.db, identity, id, { grants: false });
    const removed = await auditedTransaction(deps.db, identity, id, 'revoke', { user }, (trx) =>
      removeGrant(trx, id, user),
    );
    return c.json(removed, 200);
  });

  return app;
}
