/**
 * `jmt workflow grant|revoke|grants`: who besides the owner may act on a workflow.
 */
import type { Command } from 'commander';
import type { WorkflowGrant } from '../../contract/types';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { renderTable, writeJson, writeLine } from '../output';

export function registerGrantCommands(workflow: Command, ctx: CliContext): void {
  workflow
    .command('grant')
    .description('let another operator act on a workflow as its owner could (owner or admin only)')
    .argument('<id>', 'workflow id')
    .argument('<user>', 'user name, as in JMT_TOKENS')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, user: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const grant = await ctx.api(cmd).post<WorkflowGrant & { created: boolean }>(`/workflows/${id}/grants`, { user });
      if (opts.json) return writeJson(ctx.io, grant);
      writeLine(
        ctx.io,
        grant.created
          ? `workflow ${id}: ${grant.user} may now act on it (operators only; revoke with \`jmt workflow revoke ${id} ${grant.user}\`)`
          : `workflow ${id}: ${grant.user} was already granted (by ${grant.granted_by}, ${grant.created_date}); nothing changed`,
      );
    });

  workflow
    .command('revoke')
    .description('withdraw a grant given with `jmt workflow grant` (owner or admin only)')
    .argument('<id>', 'workflow id')
    .argument('<user>', 'user name')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, user: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const removed = await ctx
        .api(cmd)
        .request<WorkflowGrant>('DELETE', `/workflows/${id}/grants/${encodeURIComponent(user)}`);
      if (opts.json) return writeJson(ctx.io, removed);
      writeLine(ctx.io, `workflow ${id}: grant of ${removed.user} revoked`);
    });

  workflow
    .command('grants')
    .description('who may act on a workflow: its owner and the users granted')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const result = await ctx.api(cmd).get<{ owner: string; grants: WorkflowGrant[] }>(`/workflows/${id}/grants`);
      if (opts.json) return writeJson(ctx.io, result);
      writeLine(ctx.io, `workflow ${id}: owner ${result.owner}${result.grants.length ? '' : '; no grants'}`);
      if (result.grants.length) {
        ctx.io.stdout.write(
          renderTable(
            ['USER', 'GRANTED_BY', 'SINCE'],
            result.grants.map((g) => [g.user, g.granted_by, g.created_date]),
          ),
        );
      }
    });
}
