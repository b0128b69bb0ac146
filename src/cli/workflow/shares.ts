/**
 * `jmt workflow share|shares` and `jmt share revoke`: read-only, revocable links to a workflow's GUI
 * pages.
 */
import type { Command } from 'commander';
import type { ShareLink } from '../../contract/types';
import type { CliContext } from '../context';
import { parsePositiveInt } from '../errors';
import { renderTable, writeJson, writeLine } from '../output';

export function registerShareCommands(workflow: Command, ctx: CliContext): void {
  workflow
    .command('share')
    .description('create a read-only link to this workflow’s GUI pages (revocable; paste it into an email)')
    .argument('<id>', 'workflow id')
    .option('--expires-hours <n>', 'valid for this many hours', '168')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { expiresHours: string; json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const share = await ctx.api(cmd).post<ShareLink & { token: string; url: string }>(`/workflows/${id}/share`, {
        expires_in_hours: parsePositiveInt(opts.expiresHours, '--expires-hours'),
      });
      if (opts.json) return writeJson(ctx.io, share);
      writeLine(ctx.io, share.url);
      writeLine(
        ctx.io,
        `read-only, workflow ${id} only, valid until ${share.expires_date}; revoke with: jmt share revoke ${share.id}`,
      );
    });

  workflow
    .command('shares')
    .description('share links of a workflow')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'workflow id');
      const { shares } = await ctx.api(cmd).get<{ shares: ShareLink[] }>(`/workflows/${id}/shares`);
      if (opts.json) return writeJson(ctx.io, { shares });
      ctx.io.stdout.write(
        renderTable(
          ['SHARE_ID', 'CREATED_BY', 'CREATED', 'EXPIRES', 'REVOKED', 'ACTIVE'],
          shares.map((s) => [
            s.id,
            s.created_by,
            s.created_date,
            s.expires_date,
            s.revoked_date,
            s.active ? 'yes' : 'no',
          ]),
        ),
      );
    });
}

export function registerShareGroup(program: Command, ctx: CliContext): void {
  const share = program.command('share').description('read-only share links');
  share
    .command('revoke')
    .description('revoke a share link')
    .argument('<share-id>', 'share link id (from `jmt workflow share` or `jmt workflow shares`)')
    .option('--json', 'machine-readable output')
    .action(async (idText: string, opts: { json?: boolean }, cmd: Command) => {
      const id = parsePositiveInt(idText, 'share id');
      const s = await ctx.api(cmd).request<ShareLink>('DELETE', `/shares/${id}`);
      if (opts.json) return writeJson(ctx.io, s);
      writeLine(ctx.io, `share link ${id} of workflow ${s.workflow_id} revoked`);
    });
}
