/**
 * Binding (client → server): chunked drafts for large DAGs, or one request for up to 5,000 tasks.
 * Nothing is bound before commit; the bind layer validates the whole DAG then and names the field.
 * The bound workflow belongs to the caller's identity, which later decides who may run it.
 */
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import { addDraftTasks, bindAll, commitDraft, createDraft } from '../../sql/bind';
import { deleteOwnDraft } from '../../sql/bind-store';
import type { AppEnv, RouteDeps } from '../deps';
import { jsonText } from '../json-text';
import {
  BindRequestSchema,
  BoundWorkflowSchema,
  CommitQuerySchema,
  DraftCreatedSchema,
  DraftDeletedSchema,
  DraftIdParams,
  DraftSpecSchema,
  DraftTasksAddedSchema,
  DraftTasksSchema,
  errorResponses,
  json,
  jsonBody,
} from '../../contract/schemas';

const tags = ['bind'];

const createDraftRoute = createRoute({
  method: 'post',
  path: '/bind/drafts',
  tags,
  summary: 'Start a chunked bind: tool, workflow and task templates',
  request: { body: jsonBody(DraftSpecSchema) },
  responses: { 201: json(DraftCreatedSchema, 'Draft created'), ...errorResponses },
});

const addTasksRoute = createRoute({
  method: 'post',
  path: '/bind/drafts/{draft_id}/tasks',
  tags,
  summary: 'Add up to 5,000 tasks to a draft (repeatable)',
  request: { params: DraftIdParams, body: jsonBody(DraftTasksSchema) },
  responses: { 200: json(DraftTasksAddedSchema, 'Tasks stored in the draft'), ...errorResponses },
});

const commitRoute = createRoute({
  method: 'post',
  path: '/bind/drafts/{draft_id}/commit',
  tags,
  summary: 'Validate the whole DAG and bind it; the draft is deleted either way',
  request: { params: DraftIdParams, query: CommitQuerySchema },
  responses: { 200: json(BoundWorkflowSchema, 'Workflow bound (or the identical existing one)'), ...errorResponses },
});

const deleteDraftRoute = createRoute({
  method: 'delete',
  path: '/bind/drafts/{draft_id}',
  tags,
  summary: 'Abandon a draft (its creator only; 409 draft_committing while its commit runs)',
  request: { params: DraftIdParams },
  responses: { 200: json(DraftDeletedSchema, 'Draft and its chunks deleted'), ...errorResponses },
});

const bindRoute = createRoute({
  method: 'post',
  path: '/bind',
  tags,
  summary: 'Draft + one chunk + commit in one request',
  request: { body: jsonBody(BindRequestSchema) },
  responses: { 200: json(BoundWorkflowSchema, 'Workflow bound (or the identical existing one)'), ...errorResponses },
});

type Bound = Awaited<ReturnType<typeof commitDraft>>;
/**
 * The bound workflow as JSON text, its `task_ids` spliced in as Postgres wrote them
 * (BindAnswerExtras.taskIdsJson): one key per task is never parsed or re-serialised here.
 */
const boundJson = (b: Bound): string => {
  const head = JSON.stringify({
    workflow_id: b.workflowId,
    status: b.status,
    newly_created: b.newlyCreated,
    num_tasks: b.numTasks,
    ignored_resource_keys: b.ignoredResourceKeys,
  });
  return b.taskIdsJson === undefined ? head : `${head.slice(0, -1)},"task_ids":${b.taskIdsJson}}`;
};

export function bindRoutes({ db }: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(createDraftRoute, async (c) => {
    const draftId = await createDraft(db, c.get('identity').user, c.req.valid('json'));
    return c.json({ draft_id: draftId }, 201);
  });

  app.openapi(addTasksRoute, async (c) => {
    const { draft_id } = c.req.valid('param');
    const { tasks, offset } = c.req.valid('json');
    const { received, total } = await addDraftTasks(db, draft_id, c.get('identity').user, tasks, offset);
    return c.json({ received, total }, 200);
  });

  app.openapi(commitRoute, async (c) => {
    const { draft_id } = c.req.valid('param');
    const taskIds = c.req.valid('query').task_ids !== 'false';
    const { user, role } = c.get('identity');
    return jsonText<z.infer<typeof BoundWorkflowSchema>>(
      c,
      boundJson(await commitDraft(db, draft_id, user, role, { taskIds })),
    );
  });

  app.openapi(deleteDraftRoute, async (c) => {
    const { draft_id } = c.req.valid('param');
    const deleted = await deleteOwnDraft(db, draft_id, c.get('identity').user);
    return c.json({ draft_id, deleted: true as const, num_tasks: deleted.num_tasks }, 200);
  });

  app.openapi(bindRoute, async (c) => {
    const { user, role } = c.get('identity');
    return jsonText<z.infer<typeof BoundWorkflowSchema>>(
      c,
      boundJson(await bindAll(db, user, c.req.valid('json'), role)),
    );
  });

  return app;
}
