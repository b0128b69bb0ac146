/**
 * The TypeScript types of the API's answers, inferred from the contract's schemas: the client, the
 * CLI and the server's reads all use these, so a field is defined once (in the schema) and a
 * change to it shows at compile time wherever it is read or built.
 */
import type { z } from '@hono/zod-openapi';
import type { ResetResultSchema, SetStatusResultSchema, WorkflowEventSchema, WorkflowGrantSchema } from './operator';
import type {
  BoundWorkflowSchema,
  BucketsSchema,
  ClustersSchema,
  ConcurrencyLimitsSchema,
  ControlResultSchema,
  DraftCreatedSchema,
  DraftTasksAddedSchema,
  HealthSchema,
  StartedRunSchema,
  TaskDetailsSchema,
  WorkflowErrorsSchema,
  WorkflowStatusSchema,
  WorkflowSummarySchema,
  WorkflowTasksSchema,
} from './schemas';

export type * from './observe';

export type Buckets = z.infer<typeof BucketsSchema>;
export type DraftCreated = z.infer<typeof DraftCreatedSchema>;
export type DraftTasksAdded = z.infer<typeof DraftTasksAddedSchema>;
export type BoundWorkflow = z.infer<typeof BoundWorkflowSchema>;
export type Clusters = z.infer<typeof ClustersSchema>;
export type StartedRun = z.infer<typeof StartedRunSchema>;
export type ControlResult = z.infer<typeof ControlResultSchema>;
export type ConcurrencyLimits = z.infer<typeof ConcurrencyLimitsSchema>;
export type WorkflowSummary = z.infer<typeof WorkflowSummarySchema>;
export type WorkflowStatusReport = z.infer<typeof WorkflowStatusSchema>;
export type RunSummary = NonNullable<WorkflowStatusReport['run']>;
export type WorkflowEvent = z.infer<typeof WorkflowEventSchema>;
export type WorkflowGrant = z.infer<typeof WorkflowGrantSchema>;
export type SetStatusResult = z.infer<typeof SetStatusResultSchema>;
export type ResetResult = z.infer<typeof ResetResultSchema>;
export type WorkflowTasks = z.infer<typeof WorkflowTasksSchema>;
export type TaskRow = WorkflowTasks['tasks'][number];
export type WorkflowErrorRow = z.infer<typeof WorkflowErrorsSchema>['errors'][number];
export type TaskDetails = z.infer<typeof TaskDetailsSchema>;
export type TaskInstanceDetails = TaskDetails['instances'][number];
export type Health = z.infer<typeof HealthSchema>;
