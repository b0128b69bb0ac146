/**
 * Finding workflows (Jobmon GUI's overview filters) and browsing tools → templates → workflows.
 * Filters: user (comma list; `!name` excludes), tool, name and workflow_args (substring,
 * case-insensitive), attribute `k=v` (workflow attribute, or a task attribute of any of its tasks
 * with `task_attribute`), status letters, template name, created date range, id. Indexed by
 * workflow_user, workflow_attribute_kv and the primary keys; percent done is counted for the
 * returned page only.
 */
import { sql, type RawBuilder } from 'kysely';
import { invalid } from '../../domain/errors';
import { isWorkflowStatus, WORKFLOW_STATUSES, type WorkflowStatus } from '../../domain/statuses';
import type { Db } from '../db';
import { iso, isoOrNull } from '../dates';
import { parseKeyValue } from './util';
import type { FoundWorkflow, FoundWorkflows, ToolList, ToolTemplates } from '../../contract/observe';
export type { FoundWorkflow };

export interface WorkflowSearch {
  user?: string;
  tool?: string;
  name?: string;
  workflow_args?: string;
  attribute?: string;
  status?: string;
  template?: string;
  from?: string;
  to?: string;
  id?: number;
  limit?: number;
  offset?: number;
}

const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function parseDate(text: string, field: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) throw invalid(field, `${field} must be a date (YYYY-MM-DD) or an ISO timestamp`);
  // Postgres timestamps run from 4713 BC to 294276 AD; JavaScript's from 271821 BC to 275760 AD.
  // Years 1–9999 are all a search needs and every one of them fits both.
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw invalid(field, `${field} must be between the years 1 and 9999`);
  return d;
}

// Long: one query whose where-clause is built filter by filter, in the order of the search fields.
export async function searchWorkflows(db: Db, f: WorkflowSearch): Promise<FoundWorkflows> {
  const where: RawBuilder<unknown>[] = [sql`true`];
  if (f.id) where.push(sql`w.id = ${f.id}`);
  if (f.user) {
    const names = f.user
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const include = names.filter((n) => !n.startsWith('!'));
    const exclude = names.filter((n) => n.startsWith('!')).map((n) => n.slice(1));
    if (include.length) where.push(sql`w."user" = any(${include}::text[])`);
    if (exclude.length) where.push(sql`not (w."user" = any(${exclude}::text[]))`);
  }
  if (f.tool) where.push(sql`t.name = ${f.tool}`);
  if (f.name) where.push(sql`w.name ilike ${like(f.name)}`);
  if (f.workflow_args) where.push(sql`w.workflow_args ilike ${like(f.workflow_args)}`);
  if (f.status) {
    const letters = f.status
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const l of letters) if (!isWorkflowStatus(l)) throw invalid('status', `unknown workflow status "${l}"`);
    if (letters.length) where.push(sql`w.status = any(${letters}::text[])`);
  }
  if (f.attribute) {
    const { key, value } = parseKeyValue(f.attribute, 'attribute');
    where.push(
      sql`exists (select 1 from workflow_attribute wa where wa.workflow_id = w.id and wa.key = ${key} and wa.value = ${value})`,
    );
  }
  if (f.template) {
    where.push(sql`exists (select 1 from array_ a join task_template_version v on v.id = a.task_template_version_id
                             join task_template tt on tt.id = v.task_template_id
                            where a.workflow_id = w.id and tt.name = ${f.template})`);
  }
  if (f.from) where.push(sql`w.created_date >= ${parseDate(f.from, 'from')}`);
  if (f.to) {
    const to = parseDate(f.to, 'to');
    // A bare date includes that whole day.
    if (/^\d{4}-\d{2}-\d{2}$/.test(f.to)) to.setUTCDate(to.getUTCDate() + 1);
    where.push(sql`w.created_date < ${to}`);
  }
  const cond = sql.join(where, sql` and `);
  const limit = Math.min(Math.max(f.limit ?? 50, 1), 500);
  const offset = Math.max(f.offset ?? 0, 0);
  const [rows, total] = await Promise.all([
    sql<{
      id: number;
      name: string;
      tool: string;
      user: string;
      workflow_args: string;
      status: WorkflowStatus;
      created_date: Date;
      num_tasks: number;
      done: number;
      fatal: number;
      attributes: Record<string, string> | null;
    }>`
      select w.id, w.name, t.name as tool, w."user" as user, w.workflow_args, w.status, w.created_date, w.num_tasks,
             (select coalesce(sum(c.n), 0) from task_status_count c where c.workflow_id = w.id and c.status = 'D')::int as done,
             (select coalesce(sum(c.n), 0) from task_status_count c where c.workflow_id = w.id and c.status = 'F')::int as fatal,
             (select jsonb_object_agg(wa.key, wa.value) from workflow_attribute wa where wa.workflow_id = w.id) as attributes
        from workflow w join tool_version tv on tv.id = w.tool_version_id join tool t on t.id = tv.tool_id
       where ${cond}
       order by w.created_date desc, w.id desc limit ${limit} offset ${offset}`.execute(db),
    sql<{ n: number }>`
      select count(*)::int as n from workflow w join tool_version tv on tv.id = w.tool_version_id join tool t on t.id = tv.tool_id
       where ${cond}`.execute(db),
  ]);
  return {
    total: total.rows[0].n,
    workflows: rows.rows.map((r) => ({
      id: r.id,
      name: r.name,
      tool: r.tool,
      user: r.user,
      workflow_args: r.workflow_args,
      status: r.status,
      status_label: WORKFLOW_STATUSES[r.status],
      created_date: iso(r.created_date),
      num_tasks: r.num_tasks,
      done: r.done,
      fatal: r.fatal,
      percent_done: r.num_tasks ? Math.round((r.done / r.num_tasks) * 1000) / 10 : 0,
      attributes: r.attributes ?? {},
    })),
  };
}

export async function listTools(db: Db): Promise<ToolList> {
  const { rows } = await sql<{ name: string; workflows: number; templates: number; last: Date | null }>`
    select t.name,
           (select count(*) from workflow w join tool_version tv on tv.id = w.tool_version_id where tv.tool_id = t.id)::int as workflows,
           (select count(distinct tt.name) from task_template tt join tool_version tv on tv.id = tt.tool_version_id where tv.tool_id = t.id)::int as templates,
           (select max(w.created_date) from workflow w join tool_version tv on tv.id = w.tool_version_id where tv.tool_id = t.id) as last
      from tool t order by last desc nulls last, t.name`.execute(db);
  return {
    tools: rows.map((r) => ({
      name: r.name,
      workflows: r.workflows,
      templates: r.templates,
      last_workflow_date: isoOrNull(r.last),
    })),
  };
}

export async function listToolTemplates(db: Db, tool: string): Promise<ToolTemplates> {
  const { rows: found } = await sql<{ id: number }>`select id from tool where name = ${tool}`.execute(db);
  if (!found.length) throw invalid('tool', `no tool named ${JSON.stringify(tool)}`);
  const { rows } = await sql<{
    name: string;
    versions: number;
    workflows: number;
    tasks: number;
    command_template: string;
  }>`
    select tt.name,
           count(distinct v.id)::int as versions,
           count(distinct a.workflow_id)::int as workflows,
           coalesce(sum((select sum(c.n) from task_status_count c where c.workflow_id = a.workflow_id and c.array_id = a.id)), 0)::int as tasks,
           (array_agg(v.command_template order by v.id desc))[1] as command_template
      from task_template tt
      join tool_version tv on tv.id = tt.tool_version_id
      join task_template_version v on v.task_template_id = tt.id
      left join array_ a on a.task_template_version_id = v.id
     where tv.tool_id = ${found[0].id}
     group by tt.name order by tt.name`.execute(db);
  return { tool, templates: rows };
}
