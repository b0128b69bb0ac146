/**
 * `jmt doctor`: the whole set-up checked (src/stack/doctor.ts), one line per check — ✓, or ✗ with
 * the fix — and `--json` for scripts: Postgres, Temporal, the API, and each Slurm cluster (release,
 * REST version, nodes, accounting, cgroups, job accounts, the wrapper's memory share). Exit 0 when
 * every check passes, 1 otherwise.
 */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { writeJson, writeLine } from './output';

export function registerDoctorCommand(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check Postgres, Temporal, the API and each Slurm cluster; one line per check with the fix')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { runDoctor } = await import('../stack/doctor');
      const report = await runDoctor(ctx.config(cmd), ctx.env);
      if (!report.ok) ctx.exitCode = 1;
      if (opts.json) return writeJson(ctx.io, report);
      for (const c of report.checks)
        writeLine(ctx.io, `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${!c.ok && c.fix ? ` — fix: ${c.fix}` : ''}`);
    });
}
