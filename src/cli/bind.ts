/**
 * `jmt bind <file.json>`: bind a workflow written as JSON (a BindRequest, docs/api-contract.md),
 * for pipelines that are not TypeScript. Sent in chunks like the client library does, so files
 * with more than one request's worth of tasks work too.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { bindChunked, splitBindRequest } from '../client/bind';
import type { BindRequest } from '../domain/bind-spec';
import type { CliContext } from './context';
import { CliUsageError } from './errors';
import { writeJson, writeLine } from './output';

export function registerBindCommand(program: Command, ctx: CliContext): void {
  program
    .command('bind')
    .description('bind a workflow from a JSON BindRequest file; prints its workflow id')
    .argument('<file>', 'JSON file: { tool, workflow, task_templates, tasks }')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { json?: boolean }, cmd: Command) => {
      const request = await readBindRequest(file);
      const { draft, tasks } = splitBindRequest(request);
      const bound = await bindChunked(ctx.api(cmd), draft, tasks);
      if (opts.json) return writeJson(ctx.io, bound);
      const how = bound.newly_created
        ? 'bound'
        : 'already existed (its names, commands, resources and limits were updated)';
      writeLine(
        ctx.io,
        `workflow ${bound.workflow_id} ${how}: ${bound.num_tasks} tasks; start it with \`jmt workflow start ${bound.workflow_id}\``,
      );
    });
}

/** Read and shape-check the file; the API checks everything else and names the field. */
async function readBindRequest(file: string): Promise<BindRequest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliUsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliUsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliUsageError(`${file} must hold a JSON object { tool, workflow, task_templates, tasks }`);
  }
  const body = parsed as Record<string, unknown>;
  for (const key of ['tool', 'workflow'] as const) {
    if (typeof body[key] !== 'object' || body[key] === null || Array.isArray(body[key])) {
      throw new CliUsageError(`${file}: "${key}" must be an object`);
    }
  }
  for (const key of ['task_templates', 'tasks'] as const) {
    if (!Array.isArray(body[key])) throw new CliUsageError(`${file}: "${key}" must be a list`);
  }
  return body as unknown as BindRequest;
}
