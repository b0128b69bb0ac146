/**
 * One task of a bind request: shape, args against its template, name, and its effective settings
 * with Jobmon's precedence (workflow default < template default < task). Everything needing only
 * this task and the draft is done here, so `addDraftTasks` can refuse a bad task as soon as it
 * arrives, with its index; relations between tasks are dag.ts's job.
 */
import { invalid } from './errors';
import { renderCommand } from './command-template';
import { argsHash, checkTaskName, defaultTaskName, sha256, taskHash } from './identity';
import {
  DEFAULT_RESOURCE_SCALES,
  resourcesKey,
  validateAgainstQueue,
  type ResourceScales,
  type Resources,
} from './resources';
import { DEFAULT_MAX_ATTEMPTS } from './bind-spec';
import { MIN_TASK_MEMORY_MB, WRAPPER_MEMORY_MB } from './wrapper-memory';
import { checkCluster, checkQueue, type CheckedDraft, type CheckedTemplate, type ClusterCatalog } from './bind-checks';
import {
  argValue,
  attributes,
  checkKnownFields,
  isPlainObject,
  optionalInt,
  optionalString,
  requiredString,
  resourceLayer,
  resourceScales,
  stringList,
} from './spec-values';

export interface CheckedTask {
  index: number;
  key: string;
  template: CheckedTemplate;
  name: string;
  nodeArgs: Record<string, string>;
  taskArgs: Record<string, string>;
  opArgs: Record<string, string>;
  upstream: readonly string[];
  command: string;
  clusterName: string;
  resources: Resources;
  /** sha256 of resourcesKey(cluster, resources): the task_resources row this task shares. */
  resourcesHash: string;
  resourceScales: ResourceScales;
  fallbackQueues: string[];
  maxAttempts: number;
  attributes: Record<string, string>;
  nodeArgsHash: string;
  taskArgsHash: string;
  taskHash: string;
}

/**
 * Check one task and resolve everything about it: args, command, name, settings and hashes.
 * Field names in errors are only built when there is an error: this runs 100,000 times per bind.
 */
export function checkTask(raw: unknown, index: number, draft: CheckedDraft, catalog: ClusterCatalog): CheckedTask {
  const { task, template, nodeArgs, taskArgs, opArgs, upstream } = checkTaskShape(raw, index, draft);
  const nodeArgsHash = argsHash(nodeArgs);
  const taskArgsHash = argsHash(taskArgs);
  return {
    index,
    key: task.key as string,
    template,
    name:
      task.name === undefined || task.name === null
        ? defaultTaskName(
            template.name,
            template.args.nodeArgs.map((a) => [a, nodeArgs[a]] as const),
          )
        : (task.name as string),
    nodeArgs,
    taskArgs,
    opArgs,
    upstream,
    command: startableCommand(renderCommand(template.args.command, nodeArgs, taskArgs, opArgs), index),
    ...resourceSettings(task, index, draft, template, catalog),
    maxAttempts: maxAttempts(task, index, draft, template),
    attributes:
      task.attributes === undefined || task.attributes === null
        ? NO_ATTRIBUTES
        : attributes(task.attributes, `tasks[${index}].attributes`),
    nodeArgsHash,
    taskArgsHash,
    taskHash: taskHash(template.name, nodeArgsHash, taskArgsHash),
  };
}

/**
 * Only validate (what `addDraftTasks` needs): the same checks as checkTask, without rendering the
 * command or hashing, which cannot fail once the args are checked and are redone at commit anyway.
 */
export function validateTask(raw: unknown, index: number, draft: CheckedDraft, catalog: ClusterCatalog): string {
  const { task, template } = checkTaskShape(raw, index, draft);
  resourceSettings(task, index, draft, template, catalog);
  maxAttempts(task, index, draft, template);
  if (task.attributes !== undefined && task.attributes !== null)
    attributes(task.attributes, `tasks[${index}].attributes`);
  return task.key as string;
}

const TASK_FIELDS = new Set([
  'key',
  'template',
  'name',
  'node_args',
  'task_args',
  'op_args',
  'upstream',
  'compute_resources',
  'cluster_name',
  'resource_scales',
  'fallback_queues',
  'max_attempts',
  'attributes',
]);
const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

function checkTaskShape(raw: unknown, index: number, draft: CheckedDraft) {
  const at = (rest: string) => `tasks[${index}]${rest}`;
  if (!isPlainObject(raw)) throw invalid(at(''), `${at('')} must be an object`);
  checkKnownFields(raw, TASK_FIELDS, at(''));
  if (typeof raw.key !== 'string' || raw.key === '') requiredString(raw.key, at('.key'));
  if (typeof raw.template !== 'string') requiredString(raw.template, at('.template'));
  const template = draft.templateByName.get(raw.template as string);
  if (!template) {
    throw invalid(
      at('.template'),
      `template "${String(raw.template)}" is not among task_templates (${[...draft.templateByName.keys()].join(', ')})`,
      'unknown_template',
    );
  }
  const nodeArgs = checkArgs(raw.node_args, template.args.nodeArgs, index, 'node_args', template.name);
  const taskArgs = checkArgs(raw.task_args, template.args.taskArgs, index, 'task_args', template.name);
  const opArgs = checkArgs(raw.op_args, template.args.opArgs, index, 'op_args', template.name);

  const upstream = raw.upstream === undefined || raw.upstream === null ? NO_UPSTREAM : (raw.upstream as string[]);
  if (upstream !== NO_UPSTREAM) {
    if (!Array.isArray(upstream)) throw invalid(at('.upstream'), `${at('.upstream')} must be a list of task keys`);
    for (let j = 0; j < upstream.length; j++) {
      if (typeof upstream[j] !== 'string' || upstream[j] === '') requiredString(upstream[j], at(`.upstream[${j}]`));
    }
    const twice = firstRepeat(upstream);
    if (twice >= 0)
      throw invalid(at(`.upstream[${twice}]`), `upstream "${upstream[twice]}" is listed twice`, 'duplicate_upstream');
  }
  if (raw.name !== undefined && raw.name !== null) checkTaskName(raw.name, at('.name'));
  return { task: raw, template, nodeArgs, taskArgs, opArgs, upstream };
}

const NO_UPSTREAM: readonly string[] = Object.freeze([]);

/**
 * Linux refuses to exec a single argument longer than MAX_ARG_STRLEN (32 pages: 131,072 bytes,
 * NUL included), and the command reaches the job as one (`sh -c <command>`): a longer one would be
 * bound, scheduled and then fail at every attempt. Refused at bind instead.
 */
export const MAX_COMMAND_BYTES = 131_071;

function startableCommand(command: string, index: number): string {
  // A UTF-8 character is at most 3 bytes per UTF-16 unit: most commands skip the byte count.
  if (command.length * 3 > MAX_COMMAND_BYTES && Buffer.byteLength(command, 'utf8') > MAX_COMMAND_BYTES) {
    throw invalid(
      `tasks[${index}]`,
      `the task's command is ${Buffer.byteLength(command, 'utf8')} bytes; a command longer than ${MAX_COMMAND_BYTES} bytes can never be started (the kernel's limit for one argument): pass large values in a file`,
      'command_too_long',
    );
  }
  return command;
}

/** Below this length a pairwise scan is cheaper than a Set (most tasks have a handful of upstreams). */
const SHORT_LIST = 16;

/**
 * Index of the first entry equal to an earlier one, or -1. Linear for long lists (a Set), so one
 * task with a million upstream keys costs milliseconds, not the hours of a pairwise scan.
 */
export function firstRepeat(list: readonly string[]): number {
  if (list.length <= SHORT_LIST) {
    for (let j = 1; j < list.length; j++) if (list.lastIndexOf(list[j], j - 1) >= 0) return j;
    return -1;
  }
  const seen = new Set<string>();
  for (let j = 0; j < list.length; j++) {
    if (seen.has(list[j])) return j;
    seen.add(list[j]);
  }
  return -1;
}

/** The args of one kind must be exactly the template's: missing and extra names are both errors. */
function checkArgs(
  raw: unknown,
  declared: readonly string[],
  index: number,
  kind: string,
  templateName: string,
): Record<string, string> {
  const field = (name?: string) => `tasks[${index}].${kind}${name === undefined ? '' : `.${name}`}`;
  if (raw !== undefined && raw !== null && !isPlainObject(raw))
    throw invalid(field(), `${field()} must be an object of arg name → value`);
  const given = (raw ?? NO_ATTRIBUTES) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const name of declared) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined; // never a prototype member
    if (value === undefined || value === null) {
      throw invalid(
        field(name),
        `template "${templateName}" declares ${kind} "${name}" but the task gives no value for it`,
        'missing_arg',
      );
    }
    out[name] = typeof value === 'string' ? value : argValue(value, field(name));
  }
  // Every declared name is among the given keys (checked above), so more keys means an unknown one:
  // only then is it looked for, with a Set (a pairwise search is quadratic in the number of args).
  if (Object.keys(given).length > declared.length) {
    const known = new Set(declared);
    for (const name of Object.keys(given)) {
      if (!known.has(name)) {
        throw invalid(
          field(name),
          `template "${templateName}" has no ${kind} "${name}" (declared: ${declared.join(', ') || 'none'})`,
          'unknown_arg',
        );
      }
    }
  }
  return out;
}

function maxAttempts(
  task: Record<string, unknown>,
  index: number,
  draft: CheckedDraft,
  template: CheckedTemplate,
): number {
  const own =
    task.max_attempts === undefined || task.max_attempts === null
      ? undefined
      : optionalInt(task.max_attempts, `tasks[${index}].max_attempts`, 1);
  return own ?? template.maxAttempts ?? draft.workflow.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
}

type ResourceSettings = Pick<
  CheckedTask,
  'clusterName' | 'resources' | 'resourcesHash' | 'resourceScales' | 'fallbackQueues'
>;

/**
 * Most tasks set no resources of their own and resolve exactly like their template's defaults.
 * Resolving those once per template (not once per task) is most of what keeps checking 100,000
 * tasks well under a second. Cached only after success, so a failure still names the first task
 * that hits it. Keyed by the CheckedTemplate object, so one draft's results never leak into another's.
 */
const templateSettings = new WeakMap<CheckedTemplate, ResourceSettings>();
const OWN_RESOURCE_FIELDS = ['cluster_name', 'compute_resources', 'resource_scales', 'fallback_queues'] as const;

function isEmptyList(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

function resourceSettings(
  raw: Record<string, unknown>,
  index: number,
  draft: CheckedDraft,
  template: CheckedTemplate,
  catalog: ClusterCatalog,
): ResourceSettings {
  // An empty fallback_queues is what the clients send for "none" (fallback queues are the task's
  // own, with nothing to inherit): it must not cost every task its own resolution and hash.
  const inherits = OWN_RESOURCE_FIELDS.every(
    (f) => raw[f] === undefined || raw[f] === null || (f === 'fallback_queues' && isEmptyList(raw[f])),
  );
  if (!inherits) return effectiveSettings(raw, `tasks[${index}]`, draft, template, catalog);
  let cached = templateSettings.get(template);
  if (!cached) {
    cached = effectiveSettings(raw, `tasks[${index}]`, draft, template, catalog);
    templateSettings.set(template, cached);
  }
  return cached;
}

/**
 * Jobmon's precedence: cluster task > template > workflow; resources and scales merged key by key
 * workflow < template < task (scales on top of Jobmon's +50 % memory/runtime default). (max_attempts,
 * task > template > workflow > 3, is resolved in checkTask.) The merged request must fit its queue: at bind time a request
 * outside the limits is the user's mistake to fix, while clamping is reserved for requests the
 * system scaled itself after a resource error.
 */
function effectiveSettings(
  raw: Record<string, unknown>,
  prefix: string,
  draft: CheckedDraft,
  template: CheckedTemplate,
  catalog: ClusterCatalog,
): ResourceSettings {
  const wf = draft.workflow;
  const clusterField = `${prefix}.cluster_name`;
  const ownCluster = optionalString(raw.cluster_name, clusterField);
  const clusterName = ownCluster ?? template.clusterName ?? wf.clusterName;
  if (clusterName === undefined) {
    throw invalid(
      clusterField,
      'no cluster: set cluster_name on the task, or default_cluster_name on its template or the workflow',
      'missing_cluster',
    );
  }
  checkCluster(
    clusterName,
    ownCluster !== undefined ? clusterField : (template.clusterName !== undefined ? template : wf).clusterField,
    catalog,
  );

  const own = resourceLayer(raw.compute_resources, `${prefix}.compute_resources`);
  const merged: Record<string, unknown> = {};
  const fields: Record<string, string> = {};
  for (const layer of [wf.resources, template.resources, own]) {
    if (!layer) continue;
    Object.assign(merged, layer.values);
    Object.assign(fields, layer.fields);
  }
  if (typeof merged.queue !== 'string') {
    throw invalid(
      `${prefix}.compute_resources.queue`,
      'A queue name must be provided (in the task, its template or the workflow default_compute_resources)',
      'missing_queue',
    );
  }
  const resources = merged as Resources;
  const limits = checkQueue(clusterName, resources.queue, fields.queue, catalog);
  for (const [key, range] of Object.entries(limits)) {
    const problems = validateAgainstQueue(resources, { [key]: range });
    if (problems.length)
      throw invalid(fields[key] ?? `${prefix}.compute_resources.${key}`, problems[0], 'outside_queue_limits');
  }
  checkMemoryFloor(resources, fields.memory ?? `${prefix}.compute_resources.memory`);

  const fallbackQueues = stringList(raw.fallback_queues, `${prefix}.fallback_queues`);
  fallbackQueues.forEach((q, j) => checkQueue(clusterName, q, `${prefix}.fallback_queues[${j}]`, catalog));

  const scales = resourceScales(raw.resource_scales, `${prefix}.resource_scales`);
  return {
    clusterName,
    resources,
    resourcesHash: sha256(resourcesKey(clusterName, resources)),
    resourceScales: { ...DEFAULT_RESOURCE_SCALES, ...wf.resourceScales, ...template.resourceScales, ...scales },
    fallbackQueues,
  };
}

/**
 * A memory request (0 = none) below what any task can run in: its command's shell alone needs more.
 * The wrapper's share is added to the job's request by the distributor, so it is not the user's to
 * count in (domain/wrapper-memory.ts).
 */
function checkMemoryFloor(resources: Resources, field: string): void {
  const memory = resources.memory;
  if (typeof memory !== 'number' || memory <= 0 || memory * 1024 >= MIN_TASK_MEMORY_MB) return;
  const mb = Math.round(memory * 1024 * 100) / 100;
  throw invalid(
    field,
    `memory ${mb} MB can never run: a task's command needs at least ${MIN_TASK_MEMORY_MB} MB (its shell alone takes ~4 MB); ask for the task's own memory — the wrapper's ${WRAPPER_MEMORY_MB} MB are added to the job's request on top`,
    'memory_too_small',
  );
}
