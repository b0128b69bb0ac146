// Jobmon on Temporal — web GUI. Preact + htm, no build step (see src/gui/server.ts).
// Pages (hash routes): #/ workflows + search · #/workflows/:id · #/tasks/:id · #/tools[/:name]
import { h, render } from '/ui/vendor/preact.js';
import { useEffect, useState, useCallback } from '/ui/vendor/hooks.js';
import htm from '/ui/vendor/htm.js';
import { BUCKETS, COLORS, Histogram, Scatter, TaskDag, TemplateDag } from '/ui/charts.js';

/**
 * The answers' types come from the API's contract (src/contract), checked by `tsc -p src/gui`
 * (part of `npm run typecheck`): a field renamed or removed there fails the GUI's typecheck.
 * @import { CreatedShare, ErrorGroupsView, FailurePaths, FoundWorkflows, InstanceLog, TaskDag as TaskDagView,
 *   TaskDeps, TaskDetails, TemplateDag as TemplateDagView, TemplateUsage, ToolList, ToolTemplates, Whoami, WorkflowProgress,
 *   WorkflowStatusReport } from '../../contract/types'
 */
/**
 * @template T
 * @typedef {{ data: T | null, error: ApiError | null, loading: boolean, reload: () => void }} ApiState
 */

const html = htm.bind(h);
const params = new URLSearchParams(location.search);
const SHARE = params.get('share');
const FINAL_RUN_STATUSES = ['D', 'S', 'E', 'T', 'A']; // a run in one of these has ended

// ------------------------------------------------------------------ API access
class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}
function apiUrl(path, query = {}) {
  const u = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  if (SHARE) u.searchParams.set('share', SHARE);
  return u.toString();
}
/**
 * @param {string} method
 * @param {string} path
 * @param {{ query?: Record<string, unknown>, body?: unknown }} [options]
 * @returns {Promise<any>} the answer, typed by the caller from the contract
 */
async function api(method, path, { query, body } = {}) {
  const headers = { accept: 'application/json' };
  const token = localStorage.getItem('jmt_token');
  if (token && !SHARE) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(apiUrl(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
/** @type {(path: string, query?: Record<string, unknown>) => Promise<any>} */
const get = (path, query) => api('GET', path, { query });

/**
 * An answer kept fresh every refreshMs; each caller casts it to ApiState of its contract type.
 * @param {string | null} path
 * @param {Record<string, unknown>} [query]
 * @param {number} [refreshMs]
 * @returns {ApiState<any>}
 */
function useApi(path, query, refreshMs) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const key = path + JSON.stringify(query ?? {});
  const load = useCallback(() => {
    if (!path) return;
    get(path, query).then(
      (data) => setState({ data, error: null, loading: false }),
      (error) => setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, [key]);
  useEffect(() => {
    setState({ data: null, error: null, loading: true });
    load();
    if (!refreshMs) return undefined;
    const t = setInterval(load, refreshMs);
    return () => clearInterval(t);
  }, [key]);
  return { ...state, reload: load };
}

// ------------------------------------------------------------------ formatting
const fmtDuration = (s) => {
  if (s === null || s === undefined) return '–';
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const hh = Math.floor(m / 60),
    mm = m % 60;
  return hh < 48 ? `${hh} h${mm ? ` ${mm} min` : ''}` : `${Math.floor(hh / 24)} d ${hh % 24} h`;
};
const fmtBytes = (b) => {
  if (b === null || b === undefined) return '–';
  const u = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b >= 10 || i === 0 ? Math.round(b) : b.toFixed(1)}${u[i]}`;
};
const fmtDate = (d) => (d ? new Date(d).toLocaleString() : '–');
const link = (hash) => (SHARE ? `?share=${encodeURIComponent(SHARE)}${hash}` : hash);

function Bar({ buckets, total }) {
  return html`<div class="bar" title=${BUCKETS.map((b) => `${b} ${buckets[b]}`).join(' · ')}>
    ${BUCKETS.map((b) => (total ? html`<span style=${`width:${(buckets[b] / total) * 100}%;background:${COLORS[b]}`}></span>` : null))}
  </div>`;
}
const Legend = () =>
  html`<div class="legend">
    ${BUCKETS.map((b) => html`<span><i style=${`background:${COLORS[b]}`}></i>${b}</span>`)}
  </div>`;
const ErrorBox = ({ error }) =>
  error ? html`<div class="error">${error.status ? `${error.status}: ` : ''}${error.message}</div>` : null;

// ------------------------------------------------------------------ login / identity
function Login({ onDone, error }) {
  const [token, setToken] = useState('');
  return html`<div class="card" style="max-width:480px">
    <h1>Sign in</h1>
    <p class="muted">
      ${error?.message ?? 'This API needs a token.'} Paste your API token (the one in <code>JMT_TOKEN</code>); it stays
      in this browser.
    </p>
    <form
      onSubmit=${(e) => {
        e.preventDefault();
        localStorage.setItem('jmt_token', token.trim());
        onDone();
      }}
    >
      <input
        type="password"
        style="width:100%"
        value=${token}
        onInput=${(e) => setToken(e.target.value)}
        placeholder="token"
        autofocus
      />
      <p><button class="primary">Sign in</button></p>
    </form>
  </div>`;
}

// ------------------------------------------------------------------ workflow list
const FILTERS = [
  ['user', 'User (a,b or !svc)'],
  ['tool', 'Tool'],
  ['name', 'Name'],
  ['workflow_args', 'Workflow args'],
  ['attribute', 'Attribute k=v'],
  ['template', 'Template'],
  ['status', 'Status (R,F…)'],
  ['from', 'From'],
  ['to', 'To'],
];
function WorkflowList({ query }) {
  const [form, setForm] = useState(query);
  const { data, error, loading } = /** @type {ApiState<FoundWorkflows>} */ (
    useApi('/search/workflows', { ...query, limit: 100 }, 15000)
  );
  const submit = (e) => {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    location.hash = `#/?${q}`;
  };
  return html`<div>
    <h1>Workflows</h1>
    <form class="filters card" onSubmit=${submit}>
      ${FILTERS.map(([k, label]) => html`<label>${label}<input name=${k} type=${k === 'from' || k === 'to' ? 'date' : 'text'} value=${form[k] ?? ''} onInput=${(e) => setForm({ ...form, [k]: e.target.value })} /></label>`)}
      <button class="primary">Search</button>
      <button
        type="button"
        onClick=${() => {
          setForm({});
          location.hash = '#/';
        }}
      >
        Clear
      </button>
    </form>
    <${ErrorBox} error=${error} />
    ${loading && !data ? html`<p class="muted">Loading…</p>` : null}
    ${
      data
        ? html`<div class="card">
            <p class="muted small" id="workflow-count">
              ${`${data.total} workflow${data.total === 1 ? '' : 's'}${data.total > data.workflows.length ? `, newest ${data.workflows.length} shown` : ''}`}
            </p>
            <table id="workflow-list">
              <thead>
                <tr>
                  <th class="num">ID</th>
                  <th>Name</th>
                  <th>Tool</th>
                  <th>User</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th class="num">Tasks</th>
                  <th>Progress</th>
                  <th class="num">% done</th>
                </tr>
              </thead>
              <tbody>
                ${data.workflows.map(
                  (w) =>
                    html`<tr class="click" onClick=${() => (location.hash = `#/workflows/${w.id}`)}>
                      <td class="num">${w.id}</td>
                      <td>
                        <a href=${`#/workflows/${w.id}`}>${w.name || w.workflow_args}</a>
                        <div class="muted small">${w.workflow_args}</div>
                      </td>
                      <td>${w.tool}</td>
                      <td>${w.user}</td>
                      <td>
                        <span class=${`pill ${w.status}`}>${w.status_label}</span
                        >${w.fatal ? html` <span class="pill F">${w.fatal} fatal</span>` : null}
                      </td>
                      <td class="small">${fmtDate(w.created_date)}</td>
                      <td class="num">${w.num_tasks}</td>
                      <td>
                        <${Bar}
                          buckets=${{ PENDING: w.num_tasks - w.done - w.fatal, SCHEDULED: 0, RUNNING: 0, DONE: w.done, FATAL: w.fatal }}
                          total=${w.num_tasks}
                        />
                      </td>
                      <td class="num">${w.percent_done}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
  </div>`;
}

// ------------------------------------------------------------------ workflow page
function OperatorPanel({ wf, me, reload }) {
  const [msg, setMsg] = useState(null);
  const [limit, setLimit] = useState('');
  const [share, setShare] = useState(null);
  // wf.may_operate is the API's own role/owner/grant check (GET /workflows/:id/status), so granted
  // operators see the buttons too and nobody sees buttons whose requests would be refused.
  const allowed = me && me.may_operate && wf.may_operate === true;
  if (!allowed) return null;
  const act = (label, fn) => async () => {
    setMsg(`${label}…`);
    try {
      await fn();
      setMsg(`${label}: done`);
      reload();
    } catch (e) {
      setMsg(`${label}: ${e.message}`);
    }
  };
  const id = wf.workflow_id;
  // Only the controls that can do something now: a DONE workflow has nothing to stop, resume or
  // throttle; a run that has ended cannot be stopped; an active one cannot be resumed.
  const done = wf.status === 'D';
  const active = Boolean(wf.run && !FINAL_RUN_STATUSES.includes(wf.run.status));
  return html`<div class="card" id="operator-panel">
    <div class="actions">
      <strong>Operate</strong>
      ${
        active
          ? html`<button
              class="danger"
              onClick=${act('Stop', () => api('POST', `/workflows/${id}/stop`, { body: { mode: 'drain' } }))}
            >
              Stop (drain)
            </button>`
          : null
      }
      ${
        !active && !done
          ? html`<button
              title="cold resume, the default everywhere: jobs an earlier run left running are stopped and run again"
              onClick=${act('Resume', () => api('POST', `/workflows/${id}/runs`, { body: { resume_mode: 'cold' } }))}
            >
              Resume
            </button>`
          : null
      }
      ${done ? html`<span class="muted small">every task is DONE: nothing to stop, resume or throttle</span>` : null}
      ${
        done
          ? null
          : html`<input
                type="number"
                min="0"
                placeholder="max running"
                style="width:8rem"
                value=${limit}
                onInput=${(e) => setLimit(e.target.value)}
              />
              <button
                onClick=${act('Concurrency', () => api('PUT', `/workflows/${id}/concurrency`, { body: { limit: Number(limit) } }))}
              >
                Set concurrency
              </button>`
      }
      <button
        onClick=${act('Share', async () => setShare(/** @type {CreatedShare} */ (await api('POST', `/workflows/${id}/share`, { body: {} }))))}
      >
        Create read-only link
      </button>
      <span class="muted small">${msg}</span>
    </div>
    ${share ? html`<p class="small">Read-only link (valid until ${fmtDate(share.expires_date)}; revoke with <code>jmt share revoke ${share.id}</code>):<br /><input style="width:100%" readonly value=${share.url} onFocus=${(e) => e.target.select()} /></p>` : null}
  </div>`;
}

function ResourcePlots({ wfId, template }) {
  const { data, error } = /** @type {ApiState<TemplateUsage>} */ (
    useApi('/resources/usage', { template, workflow_id: wfId, rows: 1 })
  );
  if (error) return html`<p class="muted small">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const rows = data.rows.filter((r) => r.wallclock_s !== null);
  return html`<div>
    <p class="small">
      ${`${data.instances} DONE instance${data.instances === 1 ? '' : 's'} · runtime p50 ${fmtDuration(data.runtime_s.p50)}, p95 ${fmtDuration(data.runtime_s.p95)} · max RSS p50 ${fmtBytes(data.maxrss_bytes.p50)}, p95 ${fmtBytes(data.maxrss_bytes.p95)}`}
      ${data.suggested ? html` · suggested at ${data.confidence}: <b>${data.suggested.cores} core, ${data.suggested.memory}, ${data.suggested.runtime}</b>` : null}
      · <a href=${apiUrl('/resources/usage', { template, workflow_id: wfId, format: 'csv' })}>CSV</a> ·
      <a href=${apiUrl('/resources/usage', { template, workflow_id: wfId, format: 'yaml' })}>YAML</a>
    </p>
    <div class="two">
      <${Histogram}
        values=${rows.map((r) => r.wallclock_s)}
        label="runtime"
        format=${fmtDuration}
        marker=${data.requested.runtime_s}
        markerLabel="requested"
      />
      <${Histogram}
        values=${rows.map((r) => r.maxrss_bytes ?? 0)}
        label="max RSS"
        format=${fmtBytes}
        marker=${data.requested.memory_gib ? data.requested.memory_gib * 1073741824 : null}
        markerLabel="requested"
      />
    </div>
    <${Scatter}
      points=${rows.map((r) => ({ id: r.task_id, x: r.wallclock_s, y: r.maxrss_bytes ?? 0 }))}
      fx=${fmtDuration}
      fy=${fmtBytes}
    />
  </div>`;
}

function ErrorGroups({ wfId }) {
  const { data, error } = /** @type {ApiState<ErrorGroupsView>} */ (
    useApi(`/workflows/${wfId}/error-groups`, {}, 20000)
  );
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  if (!data.groups.length) return html`<p class="muted">No errors.</p>`;
  return html`<table id="error-groups">
    <thead>
      <tr>
        <th class="num">Count</th>
        <th class="num">Tasks</th>
        <th>Pattern</th>
        <th>First / last seen</th>
        <th>Examples</th>
      </tr>
    </thead>
    <tbody>
      ${data.groups.map(
        (g) =>
          html`<tr>
            <td class="num">${g.count}</td>
            <td class="num">${g.tasks}</td>
            <td>
              <code class="small">${g.pattern.length > 300 ? g.pattern.slice(0, 300) + '…' : g.pattern}</code>
              <div class="muted small">${g.templates.join(', ')}</div>
              ${g.help ? html`<div class="help small"><b>${g.help.title}</b>: ${g.help.explanation} <br /><i>What to do:</i> ${g.help.action}</div>` : null}
            </td>
            <td class="small">${fmtDate(g.first_seen)}<br />${fmtDate(g.last_seen)}</td>
            <td class="small">
              ${g.example_task_ids.map((t) => html`<a href=${link(`#/tasks/${t}`)}>task ${t}</a> `)}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/**
 * The DAG: task by task for small workflows (the API refuses above its limit, and says so), by
 * template for any size. The task view is the default whenever the API gives it.
 */
function DagCard({ dag, taskDag, view, setView }) {
  const tooBig = taskDag.error?.code === 'task_dag_too_large';
  const shown = view ?? (taskDag.data ? 'tasks' : tooBig || taskDag.error ? 'templates' : null);
  const t = taskDag.data;
  return html`<div class="card" id="dag">
    <h2 style="margin-top:0">DAG</h2>
    <div class="tabs">
      <button class=${shown === 'tasks' ? 'on' : ''} disabled=${!t} onClick=${() => setView('tasks')}>Tasks</button>
      <button class=${shown === 'templates' ? 'on' : ''} onClick=${() => setView('templates')}>Templates</button>
    </div>
    <p class="muted small" id="dag-note">
      ${
        tooBig
          ? `${taskDag.error.message.replace(/^workflow \d+ has/, 'This workflow has')}: shown by template.`
          : t
            ? `Task-level picture for workflows of up to ${t.limit} tasks (this one has ${t.num_tasks}); bigger ones are shown by template.`
            : taskDag.error
              ? taskDag.error.message
              : ''
      }
    </p>
    ${
      shown === 'tasks' && t
        ? html`<p class="small" id="dag-counts">
              ${`${t.num_tasks} tasks in ${t.levels} level${t.levels === 1 ? '' : 's'} · `}
              ${t.failed ? html`<b style="color:#b3261e">${t.failed} failed</b>${t.blocked_by_failure ? `, ${t.blocked_by_failure} waiting on a failed task (red dashed border; red lines are the paths to the failure) · ` : ' · '}` : null}
              click a task to open it
            </p>
            <div class="dag-scroll"><${TaskDag} dag=${t} hrefFor=${(tid) => link(`#/tasks/${tid}`)} /></div>
            <${Legend} />`
        : shown === 'templates'
          ? html`<div class="dag-scroll">
              ${dag.data ? html`<${TemplateDag} dag=${dag.data} />` : html`<p class="muted">Loading…</p>`}
            </div>`
          : html`<p class="muted">Loading…</p>`
    }
  </div>`;
}

function WorkflowPage({ id, me }) {
  const {
    data: p,
    error,
    reload,
  } = /** @type {ApiState<WorkflowProgress>} */ (useApi(`/workflows/${id}/progress`, {}, 10000));
  const dag = /** @type {ApiState<TemplateDagView>} */ (useApi(`/workflows/${id}/template-dag`, {}, 30000));
  const taskDag = /** @type {ApiState<TaskDagView>} */ (useApi(`/workflows/${id}/task-dag`, {}, 30000));
  const [template, setTemplate] = useState(null);
  const [dagView, setDagView] = useState(null);
  const [wfAccess, setWfAccess] = useState({ user: null, may_operate: false });
  useEffect(() => {
    if (!SHARE)
      get(`/workflows/${id}/status`).then(
        (/** @type {WorkflowStatusReport & { may_operate?: boolean }} */ s) =>
          setWfAccess({ user: s.user, may_operate: s.may_operate === true }),
        () => {},
      );
  }, [id]);
  if (error && !p) return html`<${ErrorBox} error=${error} />`;
  if (!p) return html`<p class="muted">Loading…</p>`;
  const tpl = template ?? p.templates[0]?.name;
  return html`<div>
    <h1>
      ${`${p.name || `Workflow ${p.workflow_id}`} `}
      <span class="muted small">#${p.workflow_id} · <span class=${`pill ${p.status}`}>${p.status_label}</span></span>
    </h1>
    <${ProgressCard} p=${p} />
    <${RisksCard} risks=${p.risks} />
    <${OperatorPanel}
      wf=${{ workflow_id: p.workflow_id, status: p.status, run: p.run, ...wfAccess }}
      me=${me}
      reload=${reload}
    />
    <${TemplatesCard} templates=${p.templates} setTemplate=${setTemplate} />
    <${DagCard} dag=${dag} taskDag=${taskDag} view=${dagView} setView=${setDagView} />
    <div class="card">
      <h2 style="margin-top:0">Errors, grouped</h2>
      <${ErrorGroups} wfId=${id} />
    </div>
    <${ResourceCard} wfId=${id} templates=${p.templates} tpl=${tpl} setTemplate=${setTemplate} />
    <p class="muted small">Updated ${fmtDate(p.generated_date)} · refreshes every 10 s</p>
  </div>`;
}

/** Counts, ETA, time, CPU, concurrency and queue wait of a workflow, and its run's Temporal link. */
function ProgressCard({ p }) {
  return html`<div class="card">
    <div class="summary" id="summary">${p.summary}</div>
    <${Bar} buckets=${p.buckets} total=${p.num_tasks} /><${Legend} />
    <div class="grid" style="margin-top:.6rem">
      <div class="kpi">
        Done<b id="percent-done">${p.percent_done} %</b
        ><span class="muted small">${p.buckets.DONE} of ${p.num_tasks}</span>
      </div>
      <div class="kpi">
        Time left<b>${p.eta.seconds === null ? '–' : fmtDuration(p.eta.seconds)}</b
        ><span class="muted small"
          >${p.eta.confidence.replace('_', ' ')}${p.eta.finish_date && p.eta.seconds ? ` · ~${new Date(p.eta.finish_date).toLocaleTimeString()}` : ''}</span
        >
      </div>
      <div class="kpi">
        Wall time<b>${fmtDuration(p.wall_time_s)}</b><span class="muted small">since ${fmtDate(p.first_run_date)}</span>
      </div>
      <div class="kpi">CPU-hours<b>${p.cpu_hours}</b><span class="muted small">${p.instances} instances</span></div>
      <div class="kpi">
        Running / queued<b>${p.running} / ${p.waiting_in_queue}</b
        ><span class="muted small" id="concurrency-note"
          >${`limit ${p.concurrency.workflow_limit >= 2147483647 ? 'none' : p.concurrency.workflow_limit}, effective ${p.concurrency.effective}`}</span
        >
      </div>
      <div class="kpi">
        Queue wait<b>${fmtDuration(p.queue_wait_s.current_median ?? p.queue_wait_s.recent_median)}</b
        ><span class="muted small">median</span>
      </div>
    </div>
    ${p.run ? html`<p class="small">Run ${p.run.id}: ${p.run.status_label} · <a id="temporal-link" href=${p.run.temporal_ui_url} target="_blank" rel="noreferrer noopener">open in Temporal Web UI ↗</a></p>` : html`<p class="muted small">Never run.</p>`}
  </div>`;
}

/** The risks the progress read found, each with its advice and example tasks. */
function RisksCard({ risks }) {
  return risks.length
    ? html`<div class="card" id="risks">
        <h2 style="margin-top:0">Risks</h2>
        ${risks.map(
          (r) =>
            html`<div class=${`risk ${r.severity}`}>
              <b>${r.message}</b>
              <div class="small">
                ${r.action}${r.example_task_ids.length ? html` · e.g. ${r.example_task_ids.map((t) => html`<a href=${link(`#/tasks/${t}`)}>task ${t}</a> `)}` : null}
              </div>
            </div>`,
        )}
      </div>`
    : null;
}

/** One row per task template; a click picks the template of the runtime and memory plots. */
function TemplatesCard({ templates, setTemplate }) {
  return html`<div class="card">
    <h2 style="margin-top:0">Task templates</h2>
    <table id="templates">
      <thead>
        <tr>
          <th>Template</th>
          <th class="num">Tasks</th>
          <th class="num">Done</th>
          <th class="num">Running</th>
          <th class="num">Fatal</th>
          <th>Progress</th>
          <th class="num">Typical runtime</th>
          <th>Basis</th>
          <th class="num">Work left</th>
        </tr>
      </thead>
      <tbody>
        ${templates.map(
          (t) =>
            html`<tr class="click" onClick=${() => setTemplate(t.name)}>
              <td>${t.fatal ? html`<span style="color:#d64541">✗ </span>` : null}${t.name}</td>
              <td class="num">${t.total}</td>
              <td class="num">${t.done}</td>
              <td class="num">${t.running}</td>
              <td class="num">${t.fatal}</td>
              <td>
                <${Bar}
                  buckets=${{ PENDING: t.remaining - t.running, SCHEDULED: 0, RUNNING: t.running, DONE: t.done, FATAL: t.fatal }}
                  total=${t.total}
                />
              </td>
              <td class="num">${fmtDuration(t.expected_runtime_s)}</td>
              <td class="small muted">${t.basis.replace('_', ' ')} (${t.history_instances})</td>
              <td class="num">${fmtDuration(t.remaining_work_s)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** Runtime and memory plots of the picked template, with a tab per template. */
function ResourceCard({ wfId, templates, tpl, setTemplate }) {
  return tpl
    ? html`<div class="card">
        <h2 style="margin-top:0">Runtime and memory: ${tpl}</h2>
        <div class="tabs">
          ${templates.map((t) => html`<button class=${t.name === tpl ? 'on' : ''} onClick=${() => setTemplate(t.name)}>${t.name}</button>`)}
        </div>
        <${ResourcePlots} wfId=${wfId} template=${tpl} />
      </div>`
    : null;
}

// ------------------------------------------------------------------ task page
function LogView({ ti }) {
  const [stream, setStream] = useState('stderr');
  const [full, setFull] = useState(false);
  const { data, error } = /** @type {ApiState<InstanceLog>} */ (
    useApi(`/task-instances/${ti}/logs`, { stream, tail: full ? undefined : 200 })
  );
  return html`<div>
    <div class="tabs">
      ${['stdout', 'stderr'].map((s) => html`<button class=${s === stream ? 'on' : ''} onClick=${() => setStream(s)}>${s}</button>`)}
      <button onClick=${() => setFull(!full)}>${full ? 'last 200 lines' : 'full log'}</button>
    </div>
    <${ErrorBox} error=${error} />
    ${
      data
        ? html`<p class="muted small">
              ${`${data.path ?? 'no file'} · ${data.source.replace('_', ' ')}`}${data.size_bytes !== null ? ` · ${fmtBytes(data.size_bytes)}` : ''}${data.truncated ? ' · truncated' : ''}${data.note ? ` · ${data.note}` : ''}
            </p>
            <pre>${data.text || '(empty)'}</pre>`
        : null
    }
  </div>`;
}

/** A failed instance's error (exit code, the whole message) beside its logs; just the logs otherwise. */
function InstanceErrorAndLogs({ instance }) {
  const errors = instance?.errors ?? [];
  if (!errors.length) return html`<${LogView} ti=${instance.id} key=${instance.id} />`;
  const last = errors[errors.length - 1];
  return html`<div class="error-and-logs">
    <div id="instance-error">
      <h3>Error</h3>
      <p class="small muted">
        ${`exit code ${instance.exit_code ?? '–'} · ${instance.status} ${instance.status_label} · ${fmtDate(last.error_time)}`}
      </p>
      <pre>${last.description}</pre>
    </div>
    <div>
      <h3>Log</h3>
      <${LogView} ti=${instance.id} key=${instance.id} />
    </div>
  </div>`;
}

// Long: one page's markup (task, attempts, dependencies, failure paths), read top to bottom as it renders.
function TaskPage({ id }) {
  const { data, error } = /** @type {ApiState<TaskDetails>} */ (useApi(`/tasks/${id}`, {}, 10000));
  const deps = /** @type {ApiState<TaskDeps>} */ (useApi(`/tasks/${id}/dependencies`, { depth: 1 }));
  const paths = /** @type {ApiState<FailurePaths>} */ (useApi(`/tasks/${id}/failure-paths`));
  const [ti, setTi] = useState(null);
  if (error && !data) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const t = data.task;
  const shown = ti ?? data.instances[data.instances.length - 1]?.id;
  const depList = (list) =>
    list?.length
      ? list.map(
          (d) =>
            html`<a href=${link(`#/tasks/${d.id}`)}
              ><span class=${`pill ${d.status}`}>${d.status}</span> ${d.name}</a
            > `,
        )
      : html`<span class="muted">none</span>`;
  return html`<div>
    <p class="small"><a href=${link(`#/workflows/${t.workflow_id}`)}>← workflow ${t.workflow_id}</a></p>
    <h1>
      ${`${t.name} `}
      <span class="muted small"
        >${`task ${t.id} · ${t.template} · `}<span class=${`pill ${t.status}`}>${t.status_label}</span
        >${` · attempts ${t.num_attempts}/${t.max_attempts}`}</span
      >
    </h1>
    <div class="card">
      <code class="small">${t.command}</code>
      <p class="small muted">
        ${`${t.cluster_name} / ${t.queue} · ${Object.entries(t.resources)
          .filter(([k]) => k !== 'queue')
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} · node args ${JSON.stringify(t.node_args)}`}
      </p>
      <p class="small">Upstream: ${depList(deps.data?.upstream)}</p>
      <p class="small">Downstream: ${depList(deps.data?.downstream)}</p>
      ${paths.data?.paths?.length ? html`<p class="small" style="color:#b3261e">Blocked by failed upstream tasks: ${paths.data.paths.map((pp) => html`<span>${pp.path.map((x, i) => html`${i ? ' ← ' : ''}<a href=${link(`#/tasks/${x}`)}>${x}</a>`)}; </span>`)}</p>` : null}
    </div>
    <div class="card">
      <h2 style="margin-top:0">Instances</h2>
      <table id="instances">
        <thead>
          <tr>
            <th class="num">ID</th>
            <th>Status</th>
            <th>Node</th>
            <th class="num">Exit</th>
            <th class="num">Wall</th>
            <th class="num">Max RSS</th>
            <th>Submitted</th>
            <th>Errors</th>
          </tr>
        </thead>
        <tbody>
          ${data.instances.map(
            (i) =>
              html`<tr class="click" onClick=${() => setTi(i.id)} style=${i.id === shown ? 'background:#eef5ff' : ''}>
                <td class="num">${i.id}</td>
                <td><span class=${`pill ${i.status}`}>${i.status} ${i.status_label}</span></td>
                <td>${i.nodename ?? '–'}</td>
                <td class="num">${i.exit_code ?? '–'}</td>
                <td class="num">${fmtDuration(i.wallclock_s)}</td>
                <td class="num">${fmtBytes(i.maxrss_bytes)}</td>
                <td class="small">${fmtDate(i.submitted_date)}</td>
                <td class="small">${i.errors.map((e) => html`<div>${e.description.split('\n')[0]}</div>`)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${
      shown
        ? html`<div class="card">
            <h2 style="margin-top:0">Logs of instance ${shown}</h2>
            <${InstanceErrorAndLogs} instance=${data.instances.find((i) => i.id === shown)} />
          </div>`
        : null
    }
  </div>`;
}

// ------------------------------------------------------------------ tools
function ToolsPage({ name }) {
  const tools = /** @type {ApiState<ToolList>} */ (useApi(name ? null : '/tools'));
  const templates = /** @type {ApiState<ToolTemplates>} */ (
    useApi(name ? `/tools/${encodeURIComponent(name)}/templates` : null)
  );
  if (!name) {
    if (!tools.data) return html`<${ErrorBox} error=${tools.error} />`;
    return html`<div>
      <h1>Tools</h1>
      <div class="card">
        <table>
          <thead>
            <tr>
              <th>Tool</th>
              <th class="num">Workflows</th>
              <th class="num">Templates</th>
              <th>Last workflow</th>
            </tr>
          </thead>
          <tbody>
            ${tools.data.tools.map(
              (t) =>
                html`<tr>
                  <td><a href=${`#/tools/${encodeURIComponent(t.name)}`}>${t.name}</a></td>
                  <td class="num"><a href=${`#/?tool=${encodeURIComponent(t.name)}`}>${t.workflows}</a></td>
                  <td class="num">${t.templates}</td>
                  <td class="small">${fmtDate(t.last_workflow_date)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </div>`;
  }
  if (!templates.data) return html`<${ErrorBox} error=${templates.error} />`;
  return html`<div>
    <p class="small"><a href="#/tools">← tools</a></p>
    <h1>${name}: templates</h1>
    <div class="card">
      <table>
        <thead>
          <tr>
            <th>Template</th>
            <th class="num">Versions</th>
            <th class="num">Workflows</th>
            <th class="num">Tasks</th>
            <th>Command template</th>
          </tr>
        </thead>
        <tbody>
          ${templates.data.templates.map(
            (t) =>
              html`<tr>
                <td>${t.name}</td>
                <td class="num">${t.versions}</td>
                <td class="num">
                  <a href=${`#/?tool=${encodeURIComponent(name)}&template=${encodeURIComponent(t.name)}`}
                    >${t.workflows}</a
                  >
                </td>
                <td class="num">${t.tasks}</td>
                <td><code class="small">${t.command_template}</code></td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </div>`;
}

// ------------------------------------------------------------------ shell
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), query: Object.fromEntries(new URLSearchParams(qs ?? '')) };
}

function App() {
  const [route, setRoute] = useState(parseHash());
  const [me, setMe] = useState(null);
  const [authError, setAuthError] = useState(null);
  const loadMe = () =>
    get('/whoami').then(
      (/** @type {Whoami} */ m) => {
        setMe(m);
        setAuthError(null);
      },
      (e) => setAuthError(e),
    );
  useEffect(() => {
    loadMe();
    const f = () => setRoute(parseHash());
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  if (authError && !SHARE && authError.status === 401)
    return html`<main><${Login} error=${authError} onDone=${loadMe} /></main>`;
  if (authError && SHARE)
    return html`<main><div class="error">This link does not work any more: ${authError.message}</div></main>`;
  if (SHARE && me?.share_workflow_id && route.parts[0] !== 'workflows' && route.parts[0] !== 'tasks') {
    location.hash = `#/workflows/${me.share_workflow_id}`;
  }
  const [a, b] = route.parts;
  let page;
  if (a === 'workflows' && b) page = html`<${WorkflowPage} id=${Number(b)} me=${me} key=${b} />`;
  else if (a === 'tasks' && b) page = html`<${TaskPage} id=${Number(b)} key=${b} />`;
  else if (a === 'tools') page = html`<${ToolsPage} name=${b ? decodeURIComponent(b) : null} key=${b ?? ''} />`;
  else
    page = SHARE
      ? html`<p class="muted">Loading…</p>`
      : html`<${WorkflowList} query=${route.query} key=${JSON.stringify(route.query)} />`;
  return html`<div>
    <header class="top">
      ${SHARE ? html`<span class="brand" style="font-weight:600">Jobmon · are we there yet?</span>` : html`<a class="brand" href="#/">Jobmon on Temporal</a><a href="#/">Workflows</a><a href="#/tools">Tools</a>`}
      <span class="who"
        >${me ? (me.share_workflow_id ? 'read-only shared link' : `${me.user} (${me.role})`) : ''}
        ${
          !SHARE && localStorage.getItem('jmt_token')
            ? html` ·
                <a
                  href="#/"
                  onClick=${() => {
                    localStorage.removeItem('jmt_token');
                    location.reload();
                  }}
                  >sign out</a
                >`
            : null
        }</span
      >
    </header>
    <main>${page}</main>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = ''; // drop the "Loading…" placeholder: Preact renders next to existing children
render(html`<${App} />`, root);
