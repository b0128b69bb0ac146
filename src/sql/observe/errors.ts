/**
 * Task instance errors grouped by a normalised pattern, with help for the common causes.
 *
 * Normalising (the same rules in SQL, for grouping inside Postgres, and in `normalizeMessage`, for
 * the log summaries): UUIDs → <uuid>, file paths → <path>, hex ids (0x…, ≥ 8 hex digits) → <hex>,
 * numbers → <n>, runs of white space → one space. Grouping happens in Postgres: a workflow with
 * 100,000 failed instances returns 50 groups, not 100,000 messages.
 */
import { sql } from 'kysely';
import type { Db } from '../db';
import { iso } from '../dates';
import { assertWorkflow } from './util';
import type { ErrorHelp, ErrorGroup, ErrorGroupsView } from '../../contract/observe';
export type { ErrorHelp, ErrorGroup, ErrorGroupsView };

const HELP: { test: RegExp; help: ErrorHelp }[] = [
  {
    test: /out of memory|oom[-_ ]?kill|MemoryError|Cannot allocate memory|bad_alloc|exceeded (its )?memory|memory limit|code 137\b|SIGKILL|cannot allocate vector/i,
    help: {
      category: 'out_of_memory',
      title: 'Out of memory',
      explanation: 'the job used more memory than it requested and was killed (exit 137 / SIGKILL / OOM killer).',
      action:
        'raise the template’s memory: `jmt resources <template> --confidence 0.95` suggests a request from past runs. Resource errors reported by the cluster are retried with +50 % memory automatically; plain exit 137 is not.',
    },
  },
  {
    test: /time ?limit|TIMEOUT|walltime|runtime exceeded|SIGXCPU|SIGTERM|DUE TO TIME/i,
    help: {
      category: 'time_limit',
      title: 'Time limit reached',
      explanation: 'the job ran longer than its requested runtime and the scheduler stopped it.',
      action:
        'raise the template’s runtime (`jmt resources <template>` shows the runtime percentiles), or split the work into smaller tasks.',
    },
  },
  {
    test: /No such file or directory|FileNotFoundError|ENOENT|cannot open file|does not exist|not found: <path>/i,
    help: {
      category: 'missing_file',
      title: 'Missing file',
      explanation:
        'an input file or directory was not there when the task ran: an upstream task did not write it, the path is wrong, or the file system was not mounted on the node.',
      action:
        'check the path in the message; check that the task producing it is an upstream of this task (`jmt task deps <task-id>`), then resume.',
    },
  },
  {
    test: /ModuleNotFoundError|No module named|ImportError|there is no package called|Cannot find module|command not found|cannot find -l|library not loaded/i,
    help: {
      category: 'missing_module',
      title: 'Module or package not found',
      explanation:
        'the environment on the node lacks a package (wrong conda env / R library / PATH on the compute node).',
      action:
        'activate the right environment in the command (e.g. a full path to the env’s python/Rscript) and install the package there, then resume.',
    },
  },
  {
    test: /Permission denied|EACCES|PermissionError|Operation not permitted|EPERM/i,
    help: {
      category: 'permission_denied',
      title: 'Permission denied',
      explanation: 'the job’s user may not read, write or execute a path (or the script lacks the executable bit).',
      action:
        'fix the permissions of the path in the message (or run the script through its interpreter), then resume.',
    },
  },
  {
    test: /node fail|NODE_FAIL|lost: no report|stopped reporting|connection (reset|refused)|Transport endpoint|Input\/output error|Stale file handle|wrapper could not be started/i,
    help: {
      category: 'node_failure',
      title: 'Node or infrastructure failure',
      explanation:
        'the job or its node went away without a report (node crash, network or file-system trouble). It is not caused by the task itself.',
      action:
        'usually nothing: the task is retried automatically. If it repeats on one node, tell the cluster admins which node (`jmt task status <id>` shows it).',
    },
  },
  {
    test: /killed by operator|operator’s request/i,
    help: {
      category: 'killed_by_operator',
      title: 'Stopped by an operator',
      explanation: 'someone stopped the run with kill (or the instance was killed during a cold resume).',
      action: 'resume the workflow when ready: `jmt workflow resume <id>`.',
    },
  },
];

export function helpFor(text: string): ErrorHelp | null {
  for (const h of HELP) if (h.test.test(text)) return h.help;
  return null;
}

/** The JavaScript twin of the SQL normalisation below (used for log lines). */
export function normalizeMessage(text: string): string {
  return text
    .slice(0, 4000)
    .replace(/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g, '<uuid>')
    .replace(/(~|\.{1,2})?(\/[^\s:'",;()]+)+/g, '<path>')
    .replace(/\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b/g, '<hex>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** SQL version of `normalizeMessage` for a text expression. */
function normalizedSql(column: ReturnType<typeof sql.ref>) {
  return sql<string>`btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
      left(${column}, 4000),
      '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>', 'g'),
      '(~|\\.{1,2})?(/[^[:space:]:''",;()]+)+', '<path>', 'g'),
      '\\m0x[0-9a-fA-F]+\\M|\\m(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}\\M', '<hex>', 'g'),
      '[0-9]+(\\.[0-9]+)?', '<n>', 'g'),
      '[[:space:]]+', ' ', 'g'))`;
}

export async function groupWorkflowErrors(
  db: Db,
  workflowId: number,
  opts: { template?: string; limit?: number } = {},
): Promise<ErrorGroupsView> {
  await assertWorkflow(db, workflowId);
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const template = opts.template ?? null;
  // Reached through task_instance_run_status(workflow_run_id, status): only failed instances are read.
  const { rows } = await sql<{
    pattern: string;
    n: number;
    tasks: number;
    first_seen: Date;
    last_seen: Date;
    templates: string[];
    statuses: string[];
    task_ids: number[];
    ti_ids: number[];
    sample: string;
    total: number;
  }>`
    with e as (
      select e.error_time, e.description, ti.id as ti_id, ti.task_id, ti.status, tt.name as template,
             ${normalizedSql(sql.ref('e.description'))} as pattern
        from task_instance ti
        join task_instance_error_log e on e.task_instance_id = ti.id
        join array_ a on a.id = ti.array_id
        join task_template_version v on v.id = a.task_template_version_id
        join task_template tt on tt.id = v.task_template_id
       where ti.workflow_run_id in (select id from workflow_run where workflow_id = ${workflowId})
         and ti.status in ('Q','I','O','B','R','E','F','K','T','U','W','X','Z')
         and (${template}::text is null or tt.name = ${template}))
    select pattern, count(*)::int as n, count(distinct task_id)::int as tasks,
           min(error_time) as first_seen, max(error_time) as last_seen,
           array_agg(distinct template) as templates, array_agg(distinct status::text) as statuses,
           -- A task failing again and again must not fill the examples: take more, keep 3 distinct.
           (array_agg(task_id order by error_time desc))[1:50] as task_ids,
           (array_agg(ti_id order by error_time desc))[1:3] as ti_ids,
           (array_agg(description order by error_time desc))[1] as sample,
           sum(count(*)) over ()::int as total
      from e group by pattern order by n desc, max(error_time) desc limit ${limit}`.execute(db);
  return {
    workflow_id: workflowId,
    total_errors: rows[0]?.total ?? 0,
    groups: rows.map((r) => ({
      pattern: r.pattern,
      count: r.n,
      tasks: r.tasks,
      first_seen: iso(r.first_seen),
      last_seen: iso(r.last_seen),
      templates: r.templates,
      instance_statuses: r.statuses,
      example_task_ids: [...new Set(r.task_ids.map(Number))].slice(0, 3),
      example_task_instance_ids: r.ti_ids.map(Number),
      sample: r.sample.length > 2000 ? `${r.sample.slice(0, 2000)}…` : r.sample,
      help: helpFor(r.sample) ?? helpFor(r.pattern),
    })),
  };
}
