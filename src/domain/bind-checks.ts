/**
 * Validation of the draft part of a bind spec (tool, workflow, task templates) into checked,
 * normalised values. Task-level checks are in task-checks.ts, whole-DAG checks in dag.ts.
 */
import type { ResourceScales } from './resources';
import { invalid } from './errors';
import { checkTemplateArgs, type CheckedTemplateArgs } from './command-template';
import { argMappingHash } from './identity';
import { UNLIMITED_CONCURRENCY } from './bind-spec';
import {
  attributes,
  checkKnownFields,
  isPlainObject,
  optionalInt,
  optionalString,
  requiredString,
  resourceLayer,
  resourceScales,
  type ResourceLayer,
} from './spec-values';
import type { QueueLimits } from './resources';
import { optionalWorkingDir } from './working-dir';

/** The clusters and their queues' limits, loaded from the `cluster` and `queue` tables. */
export type ClusterCatalog = ReadonlyMap<string, ReadonlyMap<string, QueueLimits>>;

/** Defaults a workflow or a template may set for its tasks. */
export interface TaskDefaults {
  clusterName?: string;
  /** Field of `clusterName`, for errors about it. */
  clusterField: string;
  resources?: ResourceLayer;
  resourceScales?: ResourceScales;
  maxAttempts?: number;
}

export interface CheckedTemplate extends TaskDefaults {
  index: number;
  name: string;
  args: CheckedTemplateArgs;
  argMappingHash: string;
  maxConcurrentlyRunning: number;
  /** Where this template's commands run, overriding the workflow's (issue 17). */
  workingDir?: string;
}

export interface CheckedDraft {
  toolName: string;
  toolVersionId?: number;
  workflow: TaskDefaults & {
    workflowArgs: string;
    name: string;
    description: string;
    attributes: Record<string, string>;
    maxConcurrentlyRunning: number;
    /** The control script's working directory at bind: commands run there. */
    workingDir?: string;
  };
  templates: CheckedTemplate[];
  templateByName: ReadonlyMap<string, CheckedTemplate>;
}

const DEFAULT_FIELDS = [
  'default_cluster_name',
  'default_compute_resources',
  'default_resource_scales',
  'default_max_attempts',
];
const SPEC_FIELDS = new Set(['tool', 'workflow', 'task_templates']);
const TOOL_FIELDS = new Set(['name', 'version_id']);
const WORKFLOW_FIELDS = new Set([
  'workflow_args',
  'name',
  'description',
  'attributes',
  'max_concurrently_running',
  'working_dir',
  ...DEFAULT_FIELDS,
]);
const TEMPLATE_FIELDS = new Set([
  'name',
  'command_template',
  'node_args',
  'task_args',
  'op_args',
  'max_concurrently_running',
  'working_dir',
  ...DEFAULT_FIELDS,
]);

/** Check a draft spec (parsed JSON); throws a JobmonError naming the first bad field. */
export function checkDraftSpec(spec: unknown, catalog: ClusterCatalog): CheckedDraft {
  if (!isPlainObject(spec)) throw invalid('', 'the bind spec must be an object with tool, workflow and task_templates');
  checkKnownFields(spec, SPEC_FIELDS, '');
  if (!isPlainObject(spec.tool)) throw invalid('tool', 'tool must be an object with a name', 'required');
  checkKnownFields(spec.tool, TOOL_FIELDS, 'tool');
  const toolName = requiredString(spec.tool.name, 'tool.name');
  const toolVersionId = optionalInt(spec.tool.version_id, 'tool.version_id', 1);

  const wf = spec.workflow;
  if (!isPlainObject(wf)) throw invalid('workflow', 'workflow must be an object', 'required');
  checkKnownFields(wf, WORKFLOW_FIELDS, 'workflow');
  const workflowDefaults = checkDefaults(wf, 'workflow', catalog, undefined);
  const workflow = {
    ...workflowDefaults,
    workflowArgs: requiredString(wf.workflow_args, 'workflow.workflow_args'),
    name: optionalString(wf.name, 'workflow.name') ?? '',
    description: optionalString(wf.description, 'workflow.description') ?? '',
    attributes: attributes(wf.attributes, 'workflow.attributes'),
    maxConcurrentlyRunning:
      optionalInt(wf.max_concurrently_running, 'workflow.max_concurrently_running', 0) ?? UNLIMITED_CONCURRENCY,
    workingDir: optionalWorkingDir(wf.working_dir, 'workflow.working_dir'),
  };

  if (!Array.isArray(spec.task_templates)) throw invalid('task_templates', 'task_templates must be a list', 'required');
  const templates: CheckedTemplate[] = [];
  const templateByName = new Map<string, CheckedTemplate>();
  spec.task_templates.forEach((raw: unknown, index) => {
    const prefix = `task_templates[${index}]`;
    if (!isPlainObject(raw)) throw invalid(prefix, `${prefix} must be an object`);
    checkKnownFields(raw, TEMPLATE_FIELDS, prefix);
    const name = requiredString(raw.name, `${prefix}.name`);
    const earlier = templateByName.get(name);
    if (earlier)
      throw invalid(
        `${prefix}.name`,
        `template "${name}" is already declared at task_templates[${earlier.index}]`,
        'duplicate_template',
      );
    const args = checkTemplateArgs(raw, prefix);
    const template: CheckedTemplate = {
      ...checkDefaults(raw, prefix, catalog, workflowDefaults),
      index,
      name,
      args,
      argMappingHash: argMappingHash(args.command.source, args.nodeArgs, args.taskArgs, args.opArgs),
      maxConcurrentlyRunning:
        optionalInt(raw.max_concurrently_running, `${prefix}.max_concurrently_running`, 0) ?? UNLIMITED_CONCURRENCY,
      workingDir: optionalWorkingDir(raw.working_dir, `${prefix}.working_dir`),
    };
    templates.push(template);
    templateByName.set(name, template);
  });
  return { toolName, toolVersionId, workflow, templates, templateByName };
}

/**
 * The `default_*` fields of a workflow or a template. Cluster names must exist; a default queue is
 * checked against the cluster it will be used with when that is already known here (the level's own
 * default cluster, else the workflow's): tasks may still override the cluster, and commit checks
 * every task's final combination anyway.
 */
function checkDefaults(
  raw: Record<string, unknown>,
  prefix: string,
  catalog: ClusterCatalog,
  parent: TaskDefaults | undefined,
): TaskDefaults {
  const clusterField = `${prefix}.default_cluster_name`;
  const clusterName = optionalString(raw.default_cluster_name, clusterField);
  if (clusterName !== undefined) checkCluster(clusterName, clusterField, catalog);
  const resources = resourceLayer(raw.default_compute_resources, `${prefix}.default_compute_resources`);
  const effectiveCluster = clusterName ?? parent?.clusterName;
  if (resources?.values.queue !== undefined && effectiveCluster !== undefined) {
    checkQueue(effectiveCluster, resources.values.queue, resources.fields.queue, catalog);
  }
  return {
    clusterName,
    clusterField,
    resources,
    resourceScales: resourceScales(raw.default_resource_scales, `${prefix}.default_resource_scales`),
    maxAttempts: optionalInt(raw.default_max_attempts, `${prefix}.default_max_attempts`, 1),
  };
}

export function checkCluster(name: string, field: string, catalog: ClusterCatalog): ReadonlyMap<string, QueueLimits> {
  const queues = catalog.get(name);
  if (!queues) {
    throw invalid(
      field,
      `cluster "${name}" does not exist (known: ${[...catalog.keys()].join(', ') || 'none'})`,
      'unknown_cluster',
    );
  }
  return queues;
}

export function checkQueue(cluster: string, queue: string, field: string, catalog: ClusterCatalog): QueueLimits {
  const queues = checkCluster(cluster, field, catalog);
  const limits = queues.get(queue);
  if (!limits) {
    throw invalid(
      field,
      `queue "${queue}" does not exist on cluster "${cluster}" (known: ${[...queues.keys()].join(', ') || 'none'})`,
      'unknown_queue',
    );
  }
  return limits;
}
