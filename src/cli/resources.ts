/**
 * `jmt resources <template>`: resource usage history of a template, its percentiles and a suggested
 * request, as a table, JSON, CSV (every instance) or YAML for the control script.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { TemplateUsage } from '../contract/types';
import type { CliContext } from './context';
import { CliUsageError, parsePositiveInt } from './errors';
import { formatBytes, formatDuration, renderTable } from './output';

// Long: one command's option list (read as its --help) and the four output formats of its one answer.
export function registerResourcesCommand(program: Command, ctx: CliContext): void {
  program
    .command('resources')
    .description('resource usage history of a template, percentiles and a suggested request')
    .argument('<template>', 'task template name')
    .option('--tool <tool>', 'only this tool’s template of that name')
    .option('--workflow <id>', 'only this workflow')
    .option(
      '--node-arg <k=v>',
      'only tasks with this node arg (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--confidence <q>', 'quantile for the suggested request', '0.95')
    .option('--format <f>', 'table, json, csv (every instance) or yaml (for the control script)', 'table')
    .option('--json', 'same as --format json')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(
      async (
        template: string,
        opts: {
          tool?: string;
          workflow?: string;
          nodeArg: string[];
          confidence: string;
          format: string;
          json?: boolean;
          output?: string;
        },
        cmd: Command,
      ) => {
        const format = opts.json ? 'json' : opts.format;
        if (!['table', 'json', 'csv', 'yaml'].includes(format))
          throw new CliUsageError('--format must be table, json, csv or yaml');
        const confidence = Number(opts.confidence);
        if (!(confidence > 0 && confidence < 1))
          throw new CliUsageError('--confidence must be between 0 and 1, e.g. 0.95');
        for (const kv of opts.nodeArg)
          if (!/^[^=]+=/.test(kv)) throw new CliUsageError(`--node-arg must be k=v, got ${JSON.stringify(kv)}`);
        const query = {
          template,
          tool: opts.tool,
          workflow_id: opts.workflow === undefined ? undefined : parsePositiveInt(opts.workflow, '--workflow'),
          node_args: opts.nodeArg.length ? opts.nodeArg.join(',') : undefined,
          confidence,
        };
        const api = ctx.api(cmd);
        const emit = (text: string) => {
          if (opts.output) {
            writeFileSync(opts.output, text);
            ctx.io.stderr.write(`wrote ${opts.output}\n`);
          } else ctx.io.stdout.write(text);
        };
        if (format === 'csv' || format === 'yaml') {
          const res = await fetch(api.url('/resources/usage', { ...query, format }), { headers: authHeader(ctx, cmd) });
          const body = await res.text();
          if (!res.ok) {
            let message = body;
            try {
              message = (JSON.parse(body) as { error: { message: string } }).error.message;
            } catch {
              // not JSON: show as is
            }
            throw new CliUsageError(message);
          }
          return emit(body);
        }
        const u = await api.get<TemplateUsage>('/resources/usage', { query });
        if (format === 'json') return emit(`${JSON.stringify(u, null, 2)}\n`);
        const pct = (p: TemplateUsage['runtime_s'], f: (v: number | null) => string | number | undefined) => [
          p.n,
          f(p.p50),
          f(p.p90),
          f(p.p95),
          f(p.p99),
          f(p.max),
        ];
        let out = `${u.template}: ${u.instances} DONE instances${
          Object.keys(u.node_args).length
            ? ` with ${Object.entries(u.node_args)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}`
            : ''
        }\n`;
        out += renderTable(
          ['MEASURE', 'N', 'P50', 'P90', 'P95', 'P99', 'MAX'],
          [
            ['runtime', ...pct(u.runtime_s, formatDuration)],
            ['max RSS', ...pct(u.maxrss_bytes, formatBytes)],
            ['cores used', ...pct(u.cores_used, (v) => (v === null ? undefined : Number(v.toFixed(2))))],
          ],
        );
        out += `requested: ${u.requested.cores ?? '-'} cores, ${u.requested.memory_gib ?? '-'}G, ${formatDuration(u.requested.runtime_s) ?? '-'} on ${u.requested.cluster_name ?? '-'}/${u.requested.queue ?? '-'}\n`;
        out += u.suggested
          ? `suggested at ${u.confidence}: cores ${u.suggested.cores}, memory ${u.suggested.memory}, runtime ${u.suggested.runtime}${u.suggested.low_sample ? ' (few instances: rough guide)' : ''}\n`
          : 'no DONE instances: nothing to suggest yet\n';
        emit(out);
      },
    );
}

function authHeader(ctx: CliContext, cmd: Command): Record<string, string> {
  const token = ctx.config(cmd).token;
  return token ? { authorization: `Bearer ${token}` } : {};
}
