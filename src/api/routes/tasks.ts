/** Task reads (CLI and GUI → server): one task with its instances and their error logs. */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { getTaskDetails } from '../../sql/reads/task-details';
import type { AppEnv, RouteDeps } from '../deps';
import { errorResponses, json, TaskDetailsSchema, TaskIdParams } from '../../contract/schemas';

const taskRoute = createRoute({
  method: 'get',
  path: '/tasks/{id}',
  tags: ['tasks'],
  summary: 'A task, its instances (oldest first) and their errors',
  request: { params: TaskIdParams },
  responses: { 200: json(TaskDetailsSchema, 'Task details'), ...errorResponses },
});

export function taskRoutes({ db }: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(taskRoute, async (c) => c.json(await getTaskDetails(db, c.req.valid('param').id), 200));
  return app;
}
