/**
 * `jmt workflow ...`: the command group and its subcommands, one file per topic in this folder. The
 * order of registration is the order `jmt workflow --help` lists them in.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { registerConcurrencyCommand, registerControlCommands } from './control';
import { registerErrorsCommand, registerRetriesCommand } from './errors';
import { registerGrantCommands } from './grants';
import { registerListCommand } from './list';
import { registerLogSummaryCommand } from './logs';
import { registerProgressCommand } from './progress';
import { registerRunCommands } from './runs';
import { registerSearchCommand } from './search';
import { registerShareCommands } from './shares';
import { registerEventsCommand, registerStatusCommand } from './status';
import { registerTasksCommand, registerTemplateDagCommand } from './tasks';

export function registerWorkflowCommands(program: Command, ctx: CliContext): void {
  const workflow = program.command('workflow').description('inspect and control workflows');
  registerStatusCommand(workflow, ctx);
  registerListCommand(workflow, ctx);
  registerTasksCommand(workflow, ctx);
  registerErrorsCommand(workflow, ctx);
  registerRunCommands(workflow, ctx);
  registerControlCommands(workflow, ctx);
  registerEventsCommand(workflow, ctx);
  registerGrantCommands(workflow, ctx);
  registerConcurrencyCommand(workflow, ctx);
  registerProgressCommand(workflow, ctx);
  registerSearchCommand(workflow, ctx);
  registerTemplateDagCommand(workflow, ctx);
  registerLogSummaryCommand(workflow, ctx);
  registerRetriesCommand(workflow, ctx);
  registerShareCommands(workflow, ctx);
}
