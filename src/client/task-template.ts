/**
 * TaskTemplate: a command with named placeholders, split into node args (what the template is
 * parallelised over), task args (data that makes a task's command unique across workflows) and op
 * args (operational knobs that can change without changing the task's identity), as in Jobmon.
 */
import type { ArgValue, ComputeResourcesSpec, TaskTemplateSpec } from '../domain/bind-spec';
import { checkTemplateArgs, type CommandTemplate } from '../domain/command-template';
import { checkTaskName } from '../domain/identity';
import type { ResourceScales } from '../domain/resources';
import { Task, TaskRef } from './task';

export interface TaskTemplateOptions {
  templateName: string;
  /** Python `str.format` style, e.g. `python model.py --loc {location_id} {verbose}`. */
  commandTemplate: string;
  nodeArgs?: string[];
  taskArgs?: string[];
  opArgs?: string[];
  defaultClusterName?: string;
  defaultComputeResources?: ComputeResourcesSpec;
  defaultResourceScales?: ResourceScales;
  defaultMaxAttempts?: number;
  /** Limit of this template's tasks running at once in a workflow (Jobmon's array limit). */
  maxConcurrentlyRunning?: number;
}

/** Per-task settings shared by createTask and createTasks. */
export interface TaskSettings {
  /** Tasks, or TaskRefs (`template.ref(...)`) for tasks this process does not hold. */
  upstreamTasks?: (Task | TaskRef)[];
  maxAttempts?: number;
  computeResources?: ComputeResourcesSpec;
  resourceScales?: ResourceScales;
  clusterName?: string;
  fallbackQueues?: string[];
  taskAttributes?: Record<string, ArgValue> | string[];
}

/** Settings plus the template's args as extra keys (Jobmon's `**kwargs`). */
export interface CreateTaskOptions extends TaskSettings {
  name?: string;
  [arg: string]: unknown;
}

/** As CreateTaskOptions, but node args may be arrays: one task per combination. */
export interface CreateTasksOptions extends TaskSettings {
  [arg: string]: unknown;
}

const SETTING_KEYS: readonly string[] = [
  'upstreamTasks',
  'maxAttempts',
  'computeResources',
  'resourceScales',
  'clusterName',
  'fallbackQueues',
  'taskAttributes',
] satisfies (keyof TaskSettings)[];
const CREATE_TASK_KEYS: readonly string[] = ['name', ...SETTING_KEYS];

export class TaskTemplate {
  readonly templateName: string;
  readonly commandTemplate: string;
  readonly nodeArgs: readonly string[];
  readonly taskArgs: readonly string[];
  readonly opArgs: readonly string[];
  readonly defaultClusterName: string | undefined;
  readonly defaultComputeResources: ComputeResourcesSpec | undefined;
  readonly defaultResourceScales: ResourceScales | undefined;
  readonly defaultMaxAttempts: number | undefined;
  readonly maxConcurrentlyRunning: number | undefined;
  readonly command: CommandTemplate;
  /** Name of the Tool this template belongs to (a workflow refuses templates of other tools). */
  readonly toolName: string;

  constructor(toolName: string, options: TaskTemplateOptions) {
    if (typeof options.templateName !== 'string' || options.templateName.trim() === '') {
      throw new Error('getTaskTemplate needs a non-empty templateName');
    }
    this.toolName = toolName;
    this.templateName = options.templateName;
    // The same checks the API makes at bind time, made here so a typo fails at the line that made it.
    const checked = checkTemplateArgs(
      {
        command_template: options.commandTemplate,
        node_args: options.nodeArgs,
        task_args: options.taskArgs,
        op_args: options.opArgs,
      },
      `task template "${options.templateName}"`,
    );
    for (const arg of [...checked.nodeArgs, ...checked.taskArgs, ...checked.opArgs]) {
      if (CREATE_TASK_KEYS.includes(arg)) {
        throw new Error(
          `task template "${options.templateName}": arg name "${arg}" clashes with the createTask option of that name; rename the arg`,
        );
      }
    }
    this.commandTemplate = options.commandTemplate;
    this.command = checked.command;
    this.nodeArgs = Object.freeze(checked.nodeArgs);
    this.taskArgs = Object.freeze(checked.taskArgs);
    this.opArgs = Object.freeze(checked.opArgs);
    this.defaultClusterName = options.defaultClusterName;
    this.defaultComputeResources = options.defaultComputeResources;
    this.defaultResourceScales = options.defaultResourceScales;
    this.defaultMaxAttempts = options.defaultMaxAttempts;
    this.maxConcurrentlyRunning = options.maxConcurrentlyRunning;
  }

  /** Every arg name with its kind, for messages. */
  get argNames(): string[] {
    return [...this.nodeArgs, ...this.taskArgs, ...this.opArgs];
  }

  /**
   * One task. Keys other than the settings must be exactly the template's args (Jobmon's kwargs):
   * an unknown or missing one is an Error naming it.
   */
  createTask(options: CreateTaskOptions): Task {
    const args = this.#splitArgs(options, CREATE_TASK_KEYS, 'createTask');
    for (const [arg, value] of Object.entries(args)) this.#checkScalar(arg, value, 'createTask');
    const name = options.name === undefined ? undefined : checkTaskName(options.name, 'name');
    return this.#build(args as Record<string, ArgValue>, { ...options, name });
  }

  /**
   * Jobmon's `create_tasks`: node args given as arrays (or single values) are crossed; task and op
   * args are single values shared by every task. Tasks come out in the order of the cross product
   * with the first declared node arg varying slowest.
   */
  createTasks(options: CreateTasksOptions): Task[] {
    const args = this.#splitArgs(options, SETTING_KEYS, 'createTasks');
    const fixed: Record<string, ArgValue> = {};
    for (const arg of [...this.taskArgs, ...this.opArgs]) {
      const value = args[arg];
      if (Array.isArray(value)) {
        throw new Error(
          `createTasks for template "${this.templateName}": "${arg}" is a task/op arg and takes one value; only node args may be arrays`,
        );
      }
      this.#checkScalar(arg, value, 'createTasks');
      fixed[arg] = value as ArgValue;
    }
    const axes = this.nodeArgs.map((arg) => {
      const raw = args[arg];
      const values = Array.isArray(raw) ? raw : [raw];
      values.forEach((v) => this.#checkScalar(arg, v, 'createTasks'));
      return values as ArgValue[];
    });
    const tasks: Task[] = [];
    for (const combination of crossProduct(axes)) {
      const nodeValues = Object.fromEntries(this.nodeArgs.map((arg, i) => [arg, combination[i]]));
      tasks.push(this.#build({ ...fixed, ...nodeValues }, options));
    }
    return tasks;
  }

  /**
   * The task of these node args, named without being made: an upstream for `createTask` that holds
   * nothing of the task (see TaskRef). Takes exactly the template's node args.
   */
  ref(nodeArgs: Record<string, ArgValue>): TaskRef {
    const where = `ref for template "${this.templateName}"`;
    const unknown = Object.keys(nodeArgs).filter((k) => !this.nodeArgs.includes(k));
    const missing = this.nodeArgs.filter((k) => nodeArgs[k] === undefined);
    if (unknown.length > 0 || missing.length > 0) {
      const problems = [
        unknown.length ? `not node args: ${unknown.join(', ')}` : '',
        missing.length ? `missing: ${missing.join(', ')}` : '',
      ].filter(Boolean);
      throw new Error(
        `${where}: takes exactly the node args (${this.nodeArgs.join(', ') || 'none'}); ${problems.join('; ')}`,
      );
    }
    for (const [arg, value] of Object.entries(nodeArgs)) this.#checkScalar(arg, value, 'ref');
    return new TaskRef(this, nodeArgs);
  }

  /** The template as the bind API takes it; `limitOverride` comes from the workflow's per-template limits. */
  toSpec(limitOverride?: number): TaskTemplateSpec {
    return {
      name: this.templateName,
      command_template: this.commandTemplate,
      node_args: [...this.nodeArgs],
      task_args: [...this.taskArgs],
      op_args: [...this.opArgs],
      default_cluster_name: this.defaultClusterName ?? null,
      default_compute_resources: this.defaultComputeResources ?? null,
      default_resource_scales: this.defaultResourceScales ?? null,
      default_max_attempts: this.defaultMaxAttempts ?? null,
      max_concurrently_running: limitOverride ?? this.maxConcurrentlyRunning ?? null,
    };
  }

  #splitArgs(
    options: Record<string, unknown>,
    settingKeys: readonly string[],
    method: string,
  ): Record<string, unknown> {
    const args: Record<string, unknown> = {};
    const unknown: string[] = [];
    for (const [key, value] of Object.entries(options)) {
      if (settingKeys.includes(key)) continue;
      if (this.argNames.includes(key)) args[key] = value;
      else unknown.push(key);
    }
    const where = `${method} for template "${this.templateName}"`;
    const declared = this.#describeArgs();
    if (unknown.length > 0) {
      throw new Error(
        `${where}: unknown argument${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the template's args are ${declared}`,
      );
    }
    const missing = this.argNames.filter((arg) => args[arg] === undefined);
    if (missing.length > 0) {
      throw new Error(
        `${where}: missing argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the template's args are ${declared}`,
      );
    }
    return args;
  }

  #checkScalar(arg: string, value: unknown, method: string): void {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return;
    throw new Error(
      `${method} for template "${this.templateName}": "${arg}" must be a string or a finite number, got ${describe(value)}`,
    );
  }

  #describeArgs(): string {
    const parts = [
      ...this.nodeArgs.map((a) => `${a} (node)`),
      ...this.taskArgs.map((a) => `${a} (task)`),
      ...this.opArgs.map((a) => `${a} (op)`),
    ];
    return parts.length ? parts.join(', ') : 'none';
  }

  #build(args: Record<string, ArgValue>, settings: TaskSettings & { name?: string }): Task {
    const pick = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, args[n]]));
    const task = new Task({
      template: this,
      nodeArgs: pick(this.nodeArgs),
      taskArgs: pick(this.taskArgs),
      opArgs: pick(this.opArgs),
      name: settings.name,
      maxAttempts: settings.maxAttempts,
      computeResources: settings.computeResources,
      resourceScales: settings.resourceScales,
      clusterName: settings.clusterName,
      fallbackQueues: settings.fallbackQueues,
      taskAttributes: settings.taskAttributes,
    });
    for (const upstream of settings.upstreamTasks ?? []) task.addUpstream(upstream);
    return task;
  }
}

function* crossProduct(axes: readonly (readonly ArgValue[])[]): Generator<ArgValue[]> {
  if (axes.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = axes;
  for (const value of first) {
    for (const tail of crossProduct(rest)) yield [value, ...tail];
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? String(value) : typeof value;
}
