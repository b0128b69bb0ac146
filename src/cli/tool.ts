/**
 * `jmt tool list|templates`: browse tools and their task templates (then search their workflows).
 */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { renderTable, writeJson } from './output';

export function registerToolCommands(program: Command, ctx: CliContext): void {
  const tool = program.command('tool').description('browse tools and their templates');
  tool
    .command('list')
    .description('tools with their number of workflows and templates')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const res = await ctx
        .api(cmd)
        .get<{ tools: { name: string; workflows: number; templates: number; last_workflow_date: string | null }[] }>(
          '/tools',
        );
      if (opts.json) return writeJson(ctx.io, res);
      ctx.io.stdout.write(
        renderTable(
          ['TOOL', 'WORKFLOWS', 'TEMPLATES', 'LAST_WORKFLOW'],
          res.tools.map((t) => [t.name, t.workflows, t.templates, t.last_workflow_date]),
        ),
      );
    });
  tool
    .command('templates')
    .description('templates of a tool (then: jmt workflow search --tool T --template X)')
    .argument('<tool>', 'tool name')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const res = await ctx.api(cmd).get<{
        templates: { name: string; versions: number; workflows: number; tasks: number; command_template: string }[];
      }>(`/tools/${encodeURIComponent(name)}/templates`);
      if (opts.json) return writeJson(ctx.io, res);
      ctx.io.stdout.write(
        renderTable(
          ['TEMPLATE', 'VERSIONS', 'WORKFLOWS', 'TASKS', 'COMMAND_TEMPLATE'],
          res.templates.map((t) => [t.name, t.versions, t.workflows, t.tasks, t.command_template]),
        ),
      );
    });
}
