/**
 * Workflow: the DAG of tasks a control script builds, bound in Postgres through the API and run as
 * a Temporal workflow (one WorkflowRun = one Temporal execution).
 *
 * Unlike Jobmon, the run does not live in this process: `run()` asks the API to start it and then
 * only watches. Ctrl-C of the control script stops the watching, never the run; stop a run with
 * `jmt workflow stop <id>`, and re-running the script attaches to the run still going.
 */
import { randomUUID } from 'node:crypto';
import {
  UNLIMITED_CONCURRENCY,
  type ArgValue,
  type ComputeResourcesSpec,
  type DraftSpec,
  type TaskSpec,
  type TaskTemplateSpec,
} from '../domain/bind-spec';
import type { ResourceScales } from '../domain/resources';
import type { WorkflowRunStatus } from '../domain/statuses';
import { isLoopbackUrl, JobmonClientError } from './api-client';
import { bindChunked, type BindOptions } from './bind';
import type { Task, TaskRef } from './task';
import type { TaskTemplate } from './task-template';
import type { Tool } from './tool';
import type { BoundWorkflow, ConcurrencyLimits, StartedRun, WorkflowStatusReport } from './types';
import { progressPrinter, watchRun } from './watch';

export interface WorkflowOptions {
  /**
   * The workflow's identity within its tool (with its tasks): pass the same value again to resume.
   * A random UUID when omitted, as in Jobmon — then only `jmt workflow resume <id>` can resume it.
   */
  workflowArgs?: string;
  name?: string;
  description?: string;
  workflowAttributes?: Record<string, ArgValue> | string[];
  maxConcurrentlyRunning?: number;
  defaultClusterName?: string;
  /** Default resources for the workflow's cluster. */
  defaultComputeResources?: ComputeResourcesSpec;
  /** Jobmon's per-cluster form; the entry of the cluster the workflow runs on is used. */
  defaultComputeResourcesSet?: Record<string, ComputeResourcesSpec>;
  defaultResourceScales?: ResourceScales;
  defaultMaxAttempts?: number;
}

export interface RunOptions {
  /** Resume an existing workflow with the same identity (Jobmon's `resume`); false refuses to. */
  resume?: boolean;
  /** cold: jobs of an earlier run still alive are killed first; hot: they are adopted. */
  resumeMode?: 'cold' | 'hot';
  /** Bound on watching (not on the run, which keeps going in Temporal after a timeout). */
  secondsUntilTimeout?: number;
  /** One progress line on stderr whenever the counts change. */
  progress?: boolean;
  /** Stop scheduling new tasks after the first task fails for good. */
  failFast?: boolean;
  pollIntervalMs?: number;
}

export class Workflow {
  readonly tool: Tool;
  readonly workflowArgs: string;
  /** True when workflowArgs was generated here (worth telling the user, as Jobmon does). */
  readonly workflowArgsGenerated: boolean;
  name: string | undefined;
  description: string | undefined;
  maxConcurrentlyRunning: number | undefined;
  defaultClusterName: string | undefined;
  defaultComputeResources: ComputeResourcesSpec | undefined;
  defaultComputeResourcesSet: Record<string, ComputeResourcesSpec> | undefined;
  defaultResourceScales: ResourceScales | undefined;
  defaultMaxAttempts: number | undefined;
  readonly attributes: Record<string, ArgValue> = {};
  /** Tasks by key, in the order they were added. */
  readonly tasks = new Map<string, Task>();
  /** Set by bind(). */
  workflowId: number | undefined;
  lastBind: BoundWorkflow | undefined;
  readonly #templateLimits = new Map<string, number>();
  #apiChecked = false;

  constructor(tool: Tool, options: WorkflowOptions = {}) {
    this.tool = tool;
    this.workflowArgsGenerated = options.workflowArgs === undefined || options.workflowArgs === '';
    this.workflowArgs = this.workflowArgsGenerated ? randomUUID() : (options.workflowArgs as string);
    this.name = options.name;
    this.description = options.description;
    this.maxConcurrentlyRunning = checkLimit(options.maxConcurrentlyRunning, 'maxConcurrentlyRunning');
    this.defaultClusterName = options.defaultClusterName;
    this.defaultComputeResources = options.defaultComputeResources;
    this.defaultComputeResourcesSet = options.defaultComputeResourcesSet;
    this.defaultResourceScales = options.defaultResourceScales;
    this.defaultMaxAttempts = options.defaultMaxAttempts;
    if (options.workflowAttributes) this.addAttributes(options.workflowAttributes);
  }

  addTask(task: Task): Task {
    this.#checkTool(task.template, `task ${task.name}`);
    const existing = this.tasks.get(task.key);
    if (existing === task) return task;
    if (existing) {
      throw new Error(
        `workflow already has a task of template "${task.template.templateName}" with node args ${JSON.stringify(task.nodeArgs)} (Jobmon: duplicate node args)`,
      );
    }
    this.tasks.set(task.key, task);
    return task;
  }

  addTasks(tasks: Iterable<Task>): Task[] {
    const added: Task[] = [];
    for (const task of tasks) added.push(this.addTask(task));
    return added;
  }

  /** A dict of name → value, or a list of names with empty values. */
  addAttributes(attributes: Record<string, ArgValue> | string[]): this {
    const entries: [string, ArgValue][] = Array.isArray(attributes)
      ? attributes.map((n) => [n, ''])
      : Object.entries(attributes);
    for (const [name, value] of entries) {
      if (typeof name !== 'string' || name.trim() === '')
        throw new Error('a workflow attribute needs a non-empty name');
      this.attributes[name] = value;
    }
    return this;
  }

  setDefaultClusterName(clusterName: string): this {
    this.defaultClusterName = clusterName;
    return this;
  }

  setDefaultComputeResourcesFromDict(clusterName: string, resources: ComputeResourcesSpec): this {
    this.defaultComputeResourcesSet = { ...this.defaultComputeResourcesSet, [clusterName]: resources };
    return this;
  }

  setDefaultMaxAttempts(maxAttempts: number): this {
    this.defaultMaxAttempts = maxAttempts;
    return this;
  }

  /**
   * Limit one template's running tasks in this workflow (sent at bind). Once the workflow is bound,
   * use `updateConcurrency` (or `jmt workflow concurrency`), which changes a running workflow.
   */
  setTaskTemplateMaxConcurrencyLimit(templateName: string, limit: number): this {
    if (this.workflowId !== undefined) {
      throw new Error(
        `workflow ${this.workflowId} is already bound; change its live limit with updateConcurrency({ template: "${templateName}", limit }) or \`jmt workflow concurrency ${this.workflowId} --template ${templateName} --limit N\``,
      );
    }
    this.#templateLimits.set(templateName, checkLimit(limit, 'limit') as number);
    return this;
  }

  /** Change the limit of the bound workflow (or one of its templates) now, also mid-run. */
  async updateConcurrency(change: { limit: number; template?: string }): Promise<ConcurrencyLimits> {
    const id = this.#requireBound('updateConcurrency');
    checkLimit(change.limit, 'limit');
    return this.tool.api.put<ConcurrencyLimits>(`/workflows/${id}/concurrency`, change);
  }

  /** The draft and tasks bind() sends: also what `jmt bind <file.json>` accepts (with `tasks` merged in). */
  toBindRequest(): { draft: DraftSpec; tasks: TaskSpec[] } {
    return { draft: this.#draftSpec(), tasks: [...this.#taskSpecs()] };
  }

  /** Tool, workflow and templates, after checking every task's template and upstreams belong here. */
  #draftSpec(): DraftSpec {
    const templates = new Map<string, TaskTemplate>();
    for (const task of this.tasks.values()) {
      addTemplate(templates, task.template);
      for (const upstream of task.upstreamTasks) {
        if (this.tasks.get(upstream.key) !== upstream) throw notAdded(task, upstream);
      }
      for (const ref of task.upstreamRefs) {
        if (!this.tasks.has(ref.key)) throw notAdded(task, ref);
      }
    }
    return this.#draftFor(templates);
  }

  /** The draft of this workflow with these templates (and its per-template limits). */
  #draftFor(templates: ReadonlyMap<string, TaskTemplate>): DraftSpec {
    for (const name of this.#templateLimits.keys()) {
      if (!templates.has(name))
        throw new Error(`setTaskTemplateMaxConcurrencyLimit: no task of template "${name}" is in this workflow`);
    }
    const taskTemplates: TaskTemplateSpec[] = [...templates.values()].map((t) =>
      t.toSpec(this.#templateLimits.get(t.templateName)),
    );
    return {
      tool: { name: this.tool.name },
      workflow: {
        workflow_args: this.workflowArgs,
        name: this.name ?? null,
        description: this.description ?? null,
        attributes: { ...this.attributes },
        max_concurrently_running: this.maxConcurrentlyRunning ?? null,
        default_cluster_name: this.defaultClusterName ?? null,
        default_compute_resources: this.#defaultResources(taskTemplates) ?? null,
        default_resource_scales: this.defaultResourceScales ?? null,
        default_max_attempts: this.defaultMaxAttempts ?? null,
      },
      task_templates: taskTemplates,
    };
  }

  /** Each task's spec, made when it is sent: bind never holds every task twice. */
  *#taskSpecs(): Generator<TaskSpec> {
    for (const task of this.tasks.values()) yield task.toSpec();
  }

  /**
   * Bind the DAG (draft, chunks of tasks, commit); returns and stores the workflow id. The chunks
   * are made from the tasks as they are sent (a few at a time), so a million-task workflow costs
   * this process its Task objects and a few chunks, not a second copy of every task.
   */
  async bind(): Promise<number> {
    if (this.tasks.size === 0) throw new Error('the workflow has no tasks; addTask(s) before bind() or run()');
    const draft = this.#draftSpec();
    await this.#ensureApi();
    const bound = await bindChunked(this.tool.api, draft, this.#taskSpecs(), { total: this.tasks.size });
    this.workflowId = bound.workflow_id;
    this.lastBind = bound;
    return bound.workflow_id;
  }

  /**
   * Bind a workflow too large to hold in this process. `tasks` is drawn a chunk at a time as the
   * chunks are sent, and each task can be dropped once sent, so the client holds a few chunks, not
   * the DAG: name upstreams with `template.ref({ ... })` rather than with the Task objects, which
   * would keep every task reachable. The same tasks bound this way or by `addTasks` + `bind()` are
   * the same workflow. `templates` lists every template the tasks use (the draft declares them
   * before the first task arrives). What needs the whole DAG (a task repeated, an upstream that
   * names no task of the workflow, a cycle) is checked by the API at commit and refused there,
   * naming the task. After it, `run()` runs the bound workflow. The answer (`lastBind`) leaves out
   * each task's id (the tasks are gone; a million ids would be the client's largest object) unless
   * `taskIds: true` asks for them.
   */
  async bindStream(
    tasks: Iterable<Task>,
    options: {
      templates: readonly TaskTemplate[];
      total?: number;
      onProgress?: BindOptions['onProgress'];
      taskIds?: boolean;
    },
  ): Promise<number> {
    if (this.tasks.size > 0) {
      throw new Error(
        `bindStream binds the tasks it is given; this workflow already holds ${this.tasks.size} added with addTask(s): bind() those, or stream them all`,
      );
    }
    const templates = new Map<string, TaskTemplate>();
    for (const template of options.templates) {
      this.#checkTool(template, `template "${template.templateName}"`);
      addTemplate(templates, template);
    }
    if (templates.size === 0) throw new Error('bindStream needs the templates its tasks use (options.templates)');
    const draft = this.#draftFor(templates);
    await this.#ensureApi();
    const bound = await bindChunked(this.tool.api, draft, this.#streamSpecs(tasks, templates), {
      total: options.total,
      onProgress: options.onProgress,
      taskIds: options.taskIds ?? false,
    });
    this.workflowId = bound.workflow_id;
    this.lastBind = bound;
    return bound.workflow_id;
  }

  /** Each streamed task's spec, after the checks one task allows: its tool and its template's definition. */
  *#streamSpecs(tasks: Iterable<Task>, templates: Map<string, TaskTemplate>): Generator<TaskSpec> {
    // Template objects already compared, so each costs one check however many tasks use it.
    const accepted = new Set<TaskTemplate>(templates.values());
    for (const task of tasks) {
      if (!accepted.has(task.template)) {
        this.#checkTool(task.template, `task ${task.name}`);
        if (!templates.has(task.template.templateName))
          throw new Error(
            `task ${task.name} is of template "${task.template.templateName}", which is not in bindStream's options.templates`,
          );
        addTemplate(templates, task.template);
        accepted.add(task.template);
      }
      yield task.toSpec();
    }
  }

  #checkTool(template: TaskTemplate, what: string): void {
    if (template.toolName !== this.tool.name) {
      throw new Error(
        `${what} comes from tool "${template.toolName}", but this workflow belongs to tool "${this.tool.name}"`,
      );
    }
  }

  /**
   * Bind if needed, start a run (or attach to the one already going) and watch it to the end.
   * Returns the WorkflowRun's final status letter, as Jobmon's `run()` does: 'D' means every task
   * is DONE; 'E' tasks failed; 'S' stopped; 'T' replaced by a newer run; 'A' aborted.
   */
  async run(options: RunOptions = {}): Promise<WorkflowRunStatus> {
    const {
      resume = true,
      resumeMode = 'cold',
      secondsUntilTimeout = 36_000,
      progress = true,
      failFast = false,
      pollIntervalMs,
    } = options;
    if (!(secondsUntilTimeout > 0)) throw new Error(`secondsUntilTimeout must be > 0, got ${secondsUntilTimeout}`);
    const say = (line: string) => {
      if (progress) this.tool.stderr.write(`${line}\n`);
    };
    await this.#ensureApi();
    if (this.workflowId === undefined) await this.bind();
    const id = this.workflowId as number;
    if (!resume && this.lastBind && !this.lastBind.newly_created) {
      throw new JobmonClientError(
        `workflow ${id} already exists for these workflow_args and tasks; run({ resume: true }) to resume it`,
        'workflow_exists',
      );
    }
    if (this.workflowArgsGenerated)
      say(
        `[wf ${id}] workflow_args not given, generated ${this.workflowArgs}; resume with \`jmt workflow resume ${id}\``,
      );

    let runId: number | undefined;
    try {
      const started = await this.tool.api.post<StartedRun>(`/workflows/${id}/runs`, {
        resume_mode: resumeMode,
        fail_fast: failFast,
      });
      runId = started.workflow_run_id;
      const mode =
        resumeMode === 'cold'
          ? 'cold resume: jobs an earlier run left running are stopped and run again; resumeMode "hot" for hot'
          : 'hot resume: jobs an earlier run left running may finish';
      say(`[wf ${id}] run ${runId} started (${mode}) — ${started.temporal_ui_url}`);
    } catch (err) {
      if (!(err instanceof JobmonClientError) || err.status !== 409) throw err;
      if (err.code === 'workflow_done') {
        say(`[wf ${id}] every task is already DONE`);
        return 'D';
      }
      if (err.code !== 'run_active') throw err;
      // Another process (or an earlier invocation of this script) started it: watch that run.
      say(`[wf ${id}] a run is already active; attaching to it`);
    }

    let warned = false;
    const final: WorkflowStatusReport = await watchRun(this.tool.api, id, {
      runId,
      timeoutMs: secondsUntilTimeout * 1000,
      pollIntervalMs,
      onStatus: progress ? progressPrinter(say) : undefined,
      onTransientError: (err) => {
        if (!warned) say(`[wf ${id}] status unavailable (${err.message}); still waiting`);
        warned = true;
      },
    });
    const run = final.run as NonNullable<WorkflowStatusReport['run']>;
    say(`[wf ${id}] run ${run.id} finished: ${run.status} ${run.status_label}`);
    return run.status as WorkflowRunStatus;
  }

  /** The latest status report of the bound workflow. */
  async status(): Promise<WorkflowStatusReport> {
    const id = this.#requireBound('status');
    return this.tool.api.get<WorkflowStatusReport>(`/workflows/${id}/status`);
  }

  #requireBound(method: string): number {
    if (this.workflowId === undefined)
      throw new Error(`${method}: the workflow is not bound yet; call bind() or run() first`);
    return this.workflowId;
  }

  /**
   * On a laptop (API URL on loopback) the first call brings the local stack up when the API does
   * not answer, so a control script works without a prior `jmt up`. A remote API is never started.
   */
  async #ensureApi(): Promise<void> {
    if (this.#apiChecked) return;
    const { config, api } = this.tool;
    if (isLoopbackUrl(config.apiUrl)) {
      try {
        await api.get('/health', { retries: 0, timeoutMs: 5_000 });
      } catch {
        // Lazy: the stack module pulls in process management the rest of the client does not need.
        const { ensureLocalStack } = await import('../stack/local-stack');
        this.tool.stderr.write(`API at ${config.apiUrl} not answering; starting the local stack\n`);
        await ensureLocalStack(config);
      }
    }
    this.#apiChecked = true;
  }

  /** The workflow-level default resources: explicit, else the entry of the workflow's cluster. */
  #defaultResources(templates: readonly TaskTemplateSpec[]): ComputeResourcesSpec | undefined {
    if (this.defaultComputeResources) return this.defaultComputeResources;
    const set = this.defaultComputeResourcesSet;
    if (!set || Object.keys(set).length === 0) return undefined;
    const clusters = new Set<string>();
    if (this.defaultClusterName) clusters.add(this.defaultClusterName);
    else for (const t of templates) if (t.default_cluster_name) clusters.add(t.default_cluster_name);
    if (clusters.size === 0 && Object.keys(set).length === 1) return Object.values(set)[0];
    if (clusters.size !== 1) {
      throw new Error(
        "defaultComputeResourcesSet has several clusters and the workflow's cluster is unclear; set defaultClusterName",
      );
    }
    return set[[...clusters][0]];
  }
}

function checkLimit(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > UNLIMITED_CONCURRENCY) {
    throw new Error(`${what} must be a whole number from 0 to ${UNLIMITED_CONCURRENCY}, got ${value}`);
  }
  return value;
}

/** Add a template to a workflow's set, refusing a second, different definition under the same name. */
function addTemplate(templates: Map<string, TaskTemplate>, template: TaskTemplate): void {
  const seen = templates.get(template.templateName);
  if (seen && seen !== template && JSON.stringify(seen.toSpec()) !== JSON.stringify(template.toSpec())) {
    throw new Error(
      `two different definitions of task template "${template.templateName}" are used in this workflow; use one per workflow`,
    );
  }
  if (!seen) templates.set(template.templateName, template);
}

function notAdded(task: Task, upstream: Task | TaskRef): Error {
  return new Error(
    `task ${task.name} depends on task ${upstream.name}, which was not added to the workflow (addTask it too)`,
  );
}
