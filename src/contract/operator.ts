/**
 * Request and response schemas of the operator controls added by issue 5 (set-status, reset, the
 * audit log). Kept apart from schemas.ts so the controls can grow without touching the shared file.
 */
import { z } from '@hono/zod-openapi';
import { INT4_MAX, pathId, queryInt } from './input-schemas';

const name = z.string().min(1).max(255);
// Node args and attributes are stored as text; numbers are accepted as a script would write them.
const textValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

export const SetStatusSchema = z
  .strictObject({
    status: z.enum(['D', 'G']).openapi({ description: 'D = mark DONE, G = run again (REGISTERING)' }),
    task_ids: z.array(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)).min(1).max(100_000).optional(),
    template: name.optional(),
    attributes: z
      .record(z.string().min(1).max(255), textValue)
      .optional()
      .openapi({ description: 'task attributes that must all match' }),
    status_filter: z
      .array(z.string().min(1).max(20))
      .min(1)
      .max(20)
      .optional()
      .openapi({ description: 'current task statuses, letters or buckets (`F`, `E`, `FATAL`)' }),
    node_args: z
      .record(z.string().min(1).max(255), textValue)
      .optional()
      .openapi({ description: 'node args that must all match' }),
    recursive: z
      .boolean()
      .default(false)
      .openapi({ description: 'D: also mark every upstream task not DONE. G: downstream is always included' }),
    force: z
      .boolean()
      .default(false)
      .openapi({ description: 'change tasks with queued/running jobs too (their jobs are killed through the run)' }),
    dry_run: z.boolean().default(false),
    confirm: z.boolean().default(false).openapi({ description: 'required when more than 1,000 tasks change' }),
  })
  .openapi('SetStatusRequest');

export const SetStatusResultSchema = z
  .object({
    status: z.enum(['D', 'G']),
    dry_run: z.boolean(),
    applied: z.boolean(),
    selected: z.number().int(),
    changed: z.number().int(),
    propagated: z.number().int(),
    running: z.number().int(),
    by_template: z.array(z.object({ template: z.string(), status: z.string(), n: z.number().int() })),
    needs_force: z.boolean(),
    needs_confirm: z.boolean(),
    killed_jobs: z.number().int(),
    workflow_run_id: z.number().int().nullable(),
    workflow_status: z.string().nullable(),
  })
  .openapi('SetStatusResult');

export const ResetSchema = z.strictObject({ keep_done: z.boolean().default(false) });
export const ResetResultSchema = z.object({
  workflow_id: z.number().int(),
  reset: z.number().int(),
  kept_done: z.number().int(),
  status: z.string(),
});

export const WorkflowEventSchema = z
  .object({
    id: z.number().int(),
    workflow_id: z.number().int(),
    workflow_run_id: z.number().int().nullable(),
    user: z.string(),
    action: z.string(),
    result: z.string().openapi({
      description:
        '`ok`, or `pending` while the control acts (left so if its outcome is unknown); refused controls are not written',
    }),
    details: z.record(z.string(), z.unknown()),
    created_date: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('WorkflowEvent');
export const EventsQuery = z.object({ limit: queryInt(1, 1000).default(20) });
export const WorkflowEventsSchema = z.object({ events: z.array(WorkflowEventSchema) });

/**
 * A user name as a grant stores it. Checked only for what could never be a user (empty, control
 * characters, padding): the API cannot know every name (tokens may be added later), so it does not
 * insist the user exists.
 */
export const GrantUserName = z
  .string()
  .min(1, 'must not be empty')
  .max(255)
  // The Cc range spelt out: `\P{Cc}` is the same set, but schema-driven clients and fuzzers
  // (schemathesis) cannot generate values for Unicode property classes in the OpenAPI pattern.
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\x00-\x1f\x7f-\x9f]*$/, 'must not contain control characters')
  .refine((s) => s.trim() === s, 'must not start or end with whitespace');
export const GrantSchema = z.strictObject({ user: GrantUserName }).openapi('GrantRequest');
// Not WorkflowIdParams.extend: schemas.ts imports this module, and the cycle would leave it undefined here.
export const GrantParams = z.object({
  id: pathId('id', INT4_MAX), // workflow.id is a Postgres integer: larger ids are 422, not a database error
  user: GrantUserName.openapi({ param: { name: 'user', in: 'path' } }),
});
export const WorkflowGrantSchema = z
  .object({
    workflow_id: z.number().int(),
    user: z.string(),
    granted_by: z.string(),
    created_date: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('WorkflowGrant');
export const GrantResultSchema = WorkflowGrantSchema.extend({
  created: z.boolean().openapi({ description: 'false: the user already held this grant (nothing changed)' }),
});
export const WorkflowGrantsSchema = z.object({
  owner: z.string(),
  grants: z.array(WorkflowGrantSchema),
});
