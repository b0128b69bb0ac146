/**
 * Tool: the project a control script belongs to (Jobmon's `Tool(name)`). It makes task templates
 * and workflows; binding and running go through the workflow.
 *
 * @example
 *   const tool = new Tool('burden');
 *   const model = tool.getTaskTemplate({ templateName: 'model', commandTemplate: 'python model.py --loc {loc}', nodeArgs: ['loc'] });
 *   const wf = tool.createWorkflow({ workflowArgs: 'burden-2026-11', defaultClusterName: 'multiprocess', defaultComputeResources: { queue: 'null.q' } });
 *   wf.addTasks(model.createTasks({ loc: [1, 2, 3] }));
 *   const status = await wf.run(); // 'D' on success
 */
import { loadConfig, type Config } from '../config';
import { ApiClient } from './api-client';
import { TaskTemplate, type TaskTemplateOptions } from './task-template';
import { Workflow, type WorkflowOptions } from './workflow';

/** Where progress and notices go; process.stderr by default. */
export interface TextSink {
  write(text: string): unknown;
}

export interface ToolOptions {
  /** Settings (API URL, token...); loadConfig() from the environment by default. */
  config?: Config;
  /** A ready client, e.g. with custom retries; built from `config` by default. */
  api?: ApiClient;
  stderr?: TextSink;
}

export class Tool {
  readonly name: string;
  readonly config: Config;
  readonly api: ApiClient;
  readonly stderr: TextSink;
  readonly #templates = new Map<string, TaskTemplate>();

  constructor(name: string, options: ToolOptions = {}) {
    if (typeof name !== 'string' || name.trim() === '') throw new Error('a Tool needs a non-empty name');
    this.name = name;
    this.config = options.config ?? loadConfig();
    this.api = options.api ?? ApiClient.fromConfig(this.config);
    this.stderr = options.stderr ?? process.stderr;
  }

  /**
   * The template of that name. Asking again with the same definition returns the same object;
   * a changed definition gives a new template (a new version, in Jobmon's terms) that replaces it.
   * One workflow can use only one definition per template name.
   */
  getTaskTemplate(options: TaskTemplateOptions): TaskTemplate {
    const existing = this.#templates.get(options.templateName);
    const candidate = new TaskTemplate(this.name, options);
    if (existing && JSON.stringify(existing.toSpec()) === JSON.stringify(candidate.toSpec())) return existing;
    this.#templates.set(candidate.templateName, candidate);
    return candidate;
  }

  createWorkflow(options: WorkflowOptions = {}): Workflow {
    return new Workflow(this, options);
  }
}
