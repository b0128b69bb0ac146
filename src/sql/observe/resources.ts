/**
 * Resource usage history of a TaskTemplate (optionally one workflow, one tool, and node args), with
 * percentiles and a suggested request at a confidence level; and the cost of resource retries.
 *
 * Suggested request: the `confidence` quantile of the latest ≤ 5,000 DONE instances, plus 10 %
 * headroom, rounded up (memory to 256 MiB, runtime to whole minutes, cores to a whole core of the
 * observed CPU time / wall time). With fewer than 5 instances it is marked `low_sample`.
 */
import { sql, type RawBuilder } from 'kysely';
import YAML from 'yaml';
import { invalid } from '../../domain/errors';
import type { Db } from '../db';
import { isoOrNull } from '../dates';
import { assertWorkflow, parseKeyValue, quantile } from './util';
import type { Percentiles, UsageRow, TemplateUsage, ResourceRetries } from '../../contract/observe';
export type { Percentiles, UsageRow, TemplateUsage, ResourceRetries };

const HISTORY_LIMIT = 5000;
const HEADROOM = 1.1;

export interface UsageQuery {
  template: string;
  tool?: string;
  workflow_id?: number;
  /** `k=v` pairs of node args, all of which must match. */
  node_args?: string[];
  confidence?: number;
}

function percentiles(values: number[]): Percentiles {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  return {
    n,
    mean: n ? sorted.reduce((s, v) => s + v, 0) / n : null,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: n ? sorted[n - 1] : null,
  };
}

const mostCommon = <T>(values: T[]): T | null => {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | null = null;
  let bestN = 0;
  for (const [v, n] of counts) if (n > bestN) [best, bestN] = [v, n];
  return best;
};

export function formatRuntime(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * Cores each instance kept busy (CPU seconds over wall seconds). Instances shorter than a second
 * are left out: their two clocks are read at slightly different moments, so the share of a 5 ms
 * task can read 1.4 cores — noise, and the cores a request needs are set by long tasks anyway.
 */
const MIN_WALLCLOCK_FOR_CORES_S = 1;
function coreShares(usage: { cpu_s: number | null; wallclock_s: number | null }[]): number[] {
  return usage
    .filter((u) => u.cpu_s !== null && u.wallclock_s !== null && u.wallclock_s >= MIN_WALLCLOCK_FOR_CORES_S)
    .map((u) => (u.cpu_s as number) / (u.wallclock_s as number));
}
// Long: one history query, its row mapping and the answer's percentiles and suggestion, in answer order.
export async function templateUsage(db: Db, q: UsageQuery): Promise<TemplateUsage> {
  const confidence = q.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1))
    throw invalid('confidence', 'confidence must be between 0 and 1 (e.g. 0.95)');
  if (!q.template) throw invalid('template', 'template is required');
  const nodeArgs: Record<string, string> = {};
  for (const kv of q.node_args ?? []) {
    const { key, value } = parseKeyValue(kv, 'node_arg');
    nodeArgs[key] = value;
  }
  if (q.workflow_id !== undefined) await assertWorkflow(db, q.workflow_id);
  const { rows: arrays } = await sql<{ id: number }>`
    select a.id from array_ a
      join task_template_version v on v.id = a.task_template_version_id
      join task_template tt on tt.id = v.task_template_id
      join tool_version tv on tv.id = tt.tool_version_id
      join tool t on t.id = tv.tool_id
     where tt.name = ${q.template}
       and (${q.tool ?? null}::text is null or t.name = ${q.tool ?? null})
       and (${q.workflow_id ?? null}::int is null or a.workflow_id = ${q.workflow_id ?? null})`.execute(db);
  if (!arrays.length) {
    throw invalid(
      'template',
      `no template named ${JSON.stringify(q.template)}${q.tool ? ` in tool ${q.tool}` : ''}${q.workflow_id ? ` in workflow ${q.workflow_id}` : ''}`,
      'not_found',
    );
  }
  // node args are stored as given (numbers or strings): compare as text.
  const nodeConds: RawBuilder<unknown>[] = Object.entries(nodeArgs).map(([k, v]) => sql`k.node_args->>${k} = ${v}`);
  const nodeFilter = nodeConds.length ? sql`and ${sql.join(nodeConds, sql` and `)}` : sql``;
  const { rows } = await sql<{
    id: number;
    task_id: number;
    workflow_id: number;
    node_args: Record<string, unknown>;
    wallclock_s: number | null;
    maxrss_bytes: number | null;
    cpu_s: number | null;
    requested: Record<string, unknown>;
    cluster_name: string;
    queue: string;
    ended_date: Date | null;
  }>`
    select ti.id, ti.task_id, ti.workflow_id, k.node_args, ti.wallclock_s, ti.maxrss_bytes, ti.cpu_s,
           r.requested_resources as requested, r.cluster_name, r.queue, ti.ended_date
      from task_instance ti
      join task k on k.id = ti.task_id
      join task_resources r on r.id = ti.task_resources_id
     where ti.array_id = any(${arrays.map((a) => a.id)}::int[]) and ti.status = 'D' ${nodeFilter}
     order by ti.id desc limit ${HISTORY_LIMIT}`.execute(db);
  const num = (v: unknown): number | null =>
    typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : null;
  const usage: UsageRow[] = rows.map((r) => ({
    task_instance_id: Number(r.id),
    task_id: Number(r.task_id),
    workflow_id: r.workflow_id,
    node_args: r.node_args,
    wallclock_s: r.wallclock_s,
    maxrss_bytes: r.maxrss_bytes === null ? null : Number(r.maxrss_bytes),
    cpu_s: r.cpu_s,
    requested_cores: num(r.requested.cores),
    requested_memory_gib: num(r.requested.memory),
    requested_runtime_s: num(r.requested.runtime),
    cluster_name: r.cluster_name,
    queue: r.queue,
    ended_date: isoOrNull(r.ended_date),
  }));
  const runtime = percentiles(usage.map((u) => u.wallclock_s).filter((v): v is number => v !== null));
  const rss = percentiles(usage.map((u) => u.maxrss_bytes).filter((v): v is number => v !== null));
  const cores = percentiles(coreShares(usage));
  const sortedOf = (vals: (number | null)[]) => vals.filter((v): v is number => v !== null).sort((a, b) => a - b);
  let suggested: TemplateUsage['suggested'] = null;
  if (runtime.n > 0) {
    const rt = quantile(sortedOf(usage.map((u) => u.wallclock_s)), confidence) ?? 0;
    const mem = quantile(sortedOf(usage.map((u) => u.maxrss_bytes)), confidence) ?? 0;
    const cpu = quantile(sortedOf(coreShares(usage)), confidence) ?? 1;
    const runtimeS = Math.max(60, Math.ceil((rt * HEADROOM) / 60) * 60);
    const memMiB = Math.max(256, Math.ceil((mem * HEADROOM) / (256 * 1024 * 1024)) * 256);
    suggested = {
      cores: Math.max(1, Math.ceil(cpu - 0.05)),
      memory: memMiB % 1024 === 0 ? `${memMiB / 1024}G` : `${memMiB}M`,
      memory_gib: memMiB / 1024,
      runtime: formatRuntime(runtimeS),
      runtime_s: runtimeS,
      low_sample: runtime.n < 5,
    };
  }
  return {
    template: q.template,
    tool: q.tool ?? null,
    workflow_id: q.workflow_id ?? null,
    node_args: nodeArgs,
    confidence,
    instances: usage.length,
    runtime_s: runtime,
    maxrss_bytes: rss,
    cores_used: cores,
    requested: {
      cores: mostCommon(usage.map((u) => u.requested_cores)),
      memory_gib: mostCommon(usage.map((u) => u.requested_memory_gib)),
      runtime_s: mostCommon(usage.map((u) => u.requested_runtime_s)),
      cluster_name: mostCommon(usage.map((u) => u.cluster_name)),
      queue: mostCommon(usage.map((u) => u.queue)),
    },
    suggested,
    rows: usage,
  };
}

const CSV_COLUMNS: (keyof UsageRow)[] = [
  'task_instance_id',
  'task_id',
  'workflow_id',
  'node_args',
  'wallclock_s',
  'maxrss_bytes',
  'cpu_s',
  'requested_cores',
  'requested_memory_gib',
  'requested_runtime_s',
  'cluster_name',
  'queue',
  'ended_date',
];

export function usageCsv(u: TemplateUsage): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [CSV_COLUMNS.join(','), ...u.rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

/**
 * The YAML a control script loads with `loadTemplateResources` (src/client/resources-yaml.ts):
 * `task_template_resources.<template>.<cluster>` = compute resources in the client's own format.
 */
export function usageYaml(u: TemplateUsage): string {
  if (!u.suggested)
    throw invalid('template', `no DONE instances of ${u.template} to suggest resources from`, 'no_history');
  const cluster = u.requested.cluster_name ?? 'multiprocess';
  const doc = {
    task_template_resources: {
      [u.template]: {
        [cluster]: {
          queue: u.requested.queue ?? 'null.q',
          cores: u.suggested.cores,
          memory: u.suggested.memory,
          runtime: u.suggested.runtime,
        },
      },
    },
  };
  const header =
    `# Suggested by jmt resources ${u.template} --confidence ${u.confidence}` +
    `${
      Object.keys(u.node_args).length
        ? ` (node args ${Object.entries(u.node_args)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')})`
        : ''
    }` +
    ` from ${u.instances} DONE instance${u.instances === 1 ? '' : 's'}${u.suggested.low_sample ? ' (few: treat as a rough guide)' : ''}.\n`;
  return header + YAML.stringify(doc);
}

// ---------------------------------------------------------------- resource retries

/** Tasks that needed resource retries (instances in Z) and what those failed attempts cost. */
export async function resourceRetries(db: Db, workflowId: number): Promise<ResourceRetries> {
  await assertWorkflow(db, workflowId);
  const { rows } = await sql<{
    task_id: number;
    name: string;
    template: string;
    status: string;
    n: number;
    wall: number;
    core_s: number;
    original: Record<string, unknown>;
    current: Record<string, unknown>;
  }>`
    with z as (
      select ti.task_id, count(*)::int as n, coalesce(sum(ti.wallclock_s), 0)::float8 as wall,
             coalesce(sum(ti.wallclock_s * coalesce((r.requested_resources->>'cores')::float8, 1)), 0)::float8 as core_s
        from task_instance ti join task_resources r on r.id = ti.task_resources_id
       where ti.workflow_run_id in (select id from workflow_run where workflow_id = ${workflowId}) and ti.status = 'Z'
       group by ti.task_id)
    select z.task_id, k.name, tt.name as template, k.status, z.n, z.wall, z.core_s,
           ro.requested_resources as original, rc.requested_resources as current
      from z join task k on k.id = z.task_id
      join task_resources ro on ro.id = k.original_resources_id
      join task_resources rc on rc.id = k.task_resources_id
      join array_ a on a.id = k.array_id join task_template_version v on v.id = a.task_template_version_id
      join task_template tt on tt.id = v.task_template_id
     order by z.wall desc, z.task_id`.execute(db);
  const per = new Map<string, ResourceRetries['per_template'][number]>();
  for (const r of rows) {
    const t = per.get(r.template) ?? {
      template: r.template,
      tasks: 0,
      resource_errors: 0,
      wasted_wallclock_s: 0,
      wasted_core_hours: 0,
    };
    t.tasks++;
    t.resource_errors += r.n;
    t.wasted_wallclock_s += r.wall;
    t.wasted_core_hours += r.core_s / 3600;
    per.set(r.template, t);
  }
  return {
    workflow_id: workflowId,
    tasks: rows.length,
    resource_errors: rows.reduce((s, r) => s + r.n, 0),
    wasted_wallclock_s: rows.reduce((s, r) => s + r.wall, 0),
    wasted_core_hours: rows.reduce((s, r) => s + r.core_s, 0) / 3600,
    per_template: [...per.values()],
    examples: rows.slice(0, 50).map((r) => ({
      task_id: Number(r.task_id),
      name: r.name,
      template: r.template,
      status: r.status,
      resource_errors: r.n,
      wasted_wallclock_s: r.wall,
      original: r.original,
      current: r.current,
    })),
  };
}
