/** Public surface of the TypeScript client library (Jobmon's vocabulary, camelCase). */
export { Tool, type ToolOptions, type TextSink } from './tool';
export {
  TaskTemplate,
  type TaskTemplateOptions,
  type CreateTaskOptions,
  type CreateTasksOptions,
  type TaskSettings,
} from './task-template';
export { Task, TaskRef, taskKey } from './task';
export { Workflow, type WorkflowOptions, type RunOptions } from './workflow';
export {
  ApiClient,
  JobmonClientError,
  isLoopbackUrl,
  API_PREFIX,
  type ApiClientOptions,
  type RequestOptions,
  type Query,
} from './api-client';
export { bindChunked, splitBindRequest, type BindOptions, type BindProgress } from './bind';
export {
  watchRun,
  formatProgress,
  progressPrinter,
  percentDone,
  isFinalRunStatus,
  WatchTimeoutError,
  DEFAULT_POLL_INTERVAL_MS,
  type WatchOptions,
} from './watch';
export type * from './types';
export type {
  ArgValue,
  ComputeResourcesSpec,
  BindRequest,
  DraftSpec,
  TaskSpec,
  TaskTemplateSpec,
} from '../domain/bind-spec';
export type { WorkflowRunStatus } from '../domain/statuses';
export { loadTemplateResources, parseResourcesYaml, type ResourcesByTemplate } from './resources-yaml';
