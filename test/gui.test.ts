/**
 * The web GUI in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): the
 * workflow list, a workflow page with progress and the Temporal link, the task-level DAG of a small
 * workflow (a click opens the task), a task page with logs, and the read-only page a share link
 * opens, and the operator buttons following grants under JMT_TOKENS. Screenshots go to
 * test-results/ for a human to look at.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTokens } from '../src/api/auth';
import { startApiServer } from '../src/api/main';
import { temporalWorkflowId } from '../src/temporal/ids';
import { startTestStack, api, type TestStack } from './helpers/stack';
import { toolOn } from './e2e/helpers';
import { freePort } from './helpers/ports';

const SHOTS = path.join(__dirname, '..', 'test-results');
let stack: TestStack;
let browser: Browser;
let page: Page;
let wfId: number;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startTestStack();
  const tool = toolOn(stack, 'gui-tool');
  const prep = tool.getTaskTemplate({
    templateName: 'prepare',
    commandTemplate: 'echo preparing inputs',
    nodeArgs: [],
  });
  const model = tool.getTaskTemplate({
    templateName: 'model',
    commandTemplate:
      'sh -c "echo model {loc}; test {loc} -ne 4 || (echo \\"ModuleNotFoundError: No module named scipy\\" >&2; exit 1)"',
    nodeArgs: ['loc'],
  });
  const summary = tool.getTaskTemplate({ templateName: 'summary', commandTemplate: 'echo summary', nodeArgs: [] });
  const wf = tool.createWorkflow({
    workflowArgs: 'gui-run',
    name: 'burden-gui',
    defaultClusterName: 'multiprocess',
    defaultComputeResources: { queue: 'null.q', cores: 1, memory: '1G', runtime: '5m' },
  });
  const p = prep.createTask({});
  const models = model.createTasks({ loc: [1, 2, 3, 4, 5], upstreamTasks: [p], maxAttempts: 1 });
  wf.addTasks([p, ...models, summary.createTask({ upstreamTasks: models })]);
  await wf.run({ progress: false });
  wfId = wf.workflowId as number;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('web GUI', () => {
  it('lists workflows and opens one: progress, risks, templates, DAG, errors, Temporal link', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.api.url}/ui/`);
    await page.waitForSelector('#workflow-list');
    expect(await page.textContent('#workflow-list')).toContain('burden-gui');
    await page.screenshot({ path: path.join(SHOTS, 'gui-workflow-list.png'), fullPage: true });

    await page.click(`a[href="#/workflows/${wfId}"]`);
    await page.waitForSelector('#summary');
    expect(await page.textContent('#summary')).toMatch(/not running \(1 task failed\)/);
    expect(await page.textContent('#percent-done')).toBe('71.4 %');
    const temporal = await page.getAttribute('#temporal-link', 'href');
    expect(temporal).toContain(`/workflows/${temporalWorkflowId(stack.config, wfId)}`);
    await page.waitForSelector('#error-groups');
    expect(await page.textContent('#error-groups')).toContain('Module or package not found');
    expect(await page.isVisible('#operator-panel')).toBe(true); // local single-user mode: operator, owner
    await page.waitForSelector('svg[aria-label="task DAG"]'); // 7 tasks: drawn task by task
    await page.waitForSelector('svg[aria-label="runtime"]');
    await page.screenshot({ path: path.join(SHOTS, 'gui-workflow.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('draws a small workflow task by task: status colours, the failed path, a click opens the task', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.api.url}/ui/#/workflows/${wfId}`);
    await page.waitForSelector('svg[aria-label="task DAG"]');
    expect(await page.textContent('#dag-note')).toContain(
      'Task-level picture for workflows of up to 300 tasks (this one has 7)',
    );
    const nodes = page.locator('svg[aria-label="task DAG"] a.dag-task');
    expect(await nodes.count()).toBe(7);
    const dag = await api<any>(stack, 'GET', `/workflows/${wfId}/task-dag`);
    const failed = dag.tasks.find((t: any) => t.status === 'F');
    const summary = dag.tasks.find((t: any) => t.template === 'summary');
    // Fill = the progress bar's colour of the bucket; the blocked summary has the red dashed border.
    const rect = (id: number) => page.locator(`a.dag-task[data-task-id="${id}"] rect`);
    expect(await rect(failed.id).getAttribute('fill')).toBe('#d64541');
    expect(await rect(summary.id).getAttribute('fill')).toBe('#b8c2cf');
    expect(await rect(summary.id).getAttribute('stroke-dasharray')).toBe('4 2');
    expect(await page.locator('svg[aria-label="task DAG"] g.failure-edges path').count()).toBe(1);
    expect(await page.locator('svg[aria-label="task DAG"] g.edges path').count()).toBe(9);
    // Levels left to right: prepare, the five models, summary.
    const x = async (id: number) => Number(await rect(id).getAttribute('x'));
    const prepare = dag.tasks.find((t: any) => t.template === 'prepare');
    expect(await x(prepare.id)).toBeLessThan(await x(failed.id));
    expect(await x(failed.id)).toBeLessThan(await x(summary.id));
    await page.locator('#dag').screenshot({ path: path.join(SHOTS, 'gui-task-dag.png') });

    // The template view is one click away, and back.
    await page.click('#dag .tabs button:has-text("Templates")');
    await page.waitForSelector('svg[aria-label="template DAG"]');
    await page.click('#dag .tabs button:has-text("Tasks")');
    await page.waitForSelector('svg[aria-label="task DAG"]');

    await page.click(`a.dag-task[data-task-id="${failed.id}"]`);
    await page.waitForSelector('#instances');
    expect(new URL(page.url()).hash).toBe(`#/tasks/${failed.id}`);
    expect(await page.textContent('h1')).toContain(failed.name);
    expect(errors).toEqual([]);
  });

  it('opens a task page with its instances and logs', async () => {
    const failed = (await api<{ tasks: { id: number }[] }>(stack, 'GET', `/workflows/${wfId}/tasks?status=F`)).tasks[0];
    await page.goto(`${stack.api.url}/ui/#/tasks/${failed.id}`);
    await page.waitForSelector('#instances');
    await page.waitForSelector('pre');
    expect(await page.textContent('pre')).toContain('ModuleNotFoundError: No module named scipy');
    // The failed instance's error sits beside its log.
    await page.waitForSelector('.error-and-logs #instance-error');
    expect(await page.textContent('#instance-error')).toMatch(/exit code 1/);
    await page.screenshot({ path: path.join(SHOTS, 'gui-task.png'), fullPage: true });
  });

  it('a DONE workflow after retries: no operate buttons, each task once per error group, words spaced', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // `flaky` fails twice with the same message, then succeeds: one error group, one task.
    const marker = path.join(stack.config.logDir, `gui-flaky-${process.pid}`);
    const tool = toolOn(stack, 'gui-done-tool');
    const flaky = tool.getTaskTemplate({
      templateName: 'flaky',
      commandTemplate: `sh -c 'n=$(cat ${marker} 2>/dev/null || echo 0); echo $((n+1)) > ${marker}; test $n -ge 2 || (echo "MemoryError: cannot allocate" >&2; exit 1)'`,
      nodeArgs: [],
    });
    const wf = tool.createWorkflow({
      workflowArgs: 'gui-done',
      name: 'gui-done',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
      maxConcurrentlyRunning: 8,
    });
    wf.addTasks([flaky.createTask({ maxAttempts: 3 })]);
    expect(await wf.run({ progress: false })).toBe('D');
    const doneId = wf.workflowId as number;

    await page.goto(`${stack.api.url}/ui/`);
    await page.waitForSelector('#workflow-count');
    expect(await page.textContent('#workflow-count')).toMatch(/^\s*\d+ workflows\b/);
    await page.goto(`${stack.api.url}/ui/#/workflows/${doneId}`);
    await page.waitForSelector('#concurrency-note');
    expect(await page.textContent('#concurrency-note')).toMatch(/^limit 8, effective \d+$/);
    await page.waitForSelector('#operator-panel');
    const panel = (await page.textContent('#operator-panel')) ?? '';
    expect(panel).not.toMatch(/Stop|Resume|Set concurrency/);
    expect(panel).toContain('every task is DONE');
    await page.waitForSelector('#error-groups');
    const groups = await api<any>(stack, 'GET', `/workflows/${doneId}/error-groups`);
    expect(groups.groups).toHaveLength(1);
    expect(groups.groups[0].count).toBe(2);
    expect(groups.groups[0].example_task_ids).toHaveLength(1);
    expect(await page.locator('#error-groups a[href^="#/tasks/"]').count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'gui-workflow-done.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('a share link opens the read-only page of that workflow without operator buttons', async () => {
    const share = await api<{ url: string }>(stack, 'POST', `/workflows/${wfId}/share`, {});
    await page.goto(share.url);
    await page.waitForSelector('#summary');
    expect(await page.textContent('header')).toContain('read-only shared link');
    expect(await page.isVisible('#operator-panel')).toBe(false);
    await page.screenshot({ path: path.join(SHOTS, 'gui-shared.png'), fullPage: true });
  });

  it('operator buttons follow the API check: shown to a granted operator, not to an ungranted one or a granted observer', async () => {
    const server = await startApiServer({
      db: stack.database.db,
      config: stack.config,
      temporal: stack.temporal.client,
      auth: {
        mode: 'tokens',
        tokens: parseTokens('bob-token-22:bob:operator,watch-token-3:watcher:observer,admin-token-4:boss:admin'),
      },
      port: await freePort(),
      host: '127.0.0.1',
    });
    const asAdmin = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${server.url}/api/v1${route}`, {
        method,
        headers: { authorization: 'Bearer admin-token-4', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.ok, `${method} ${route}: ${res.status}`).toBe(true);
    };
    /** The workflow page as the token's user, once its status (which decides the buttons) has been applied. */
    const panelShown = async (token: string): Promise<boolean> => {
      const context = await browser.newContext();
      try {
        // Strings, not functions: they run in the page, and the tests are compiled without the DOM types.
        await context.addInitScript({ content: `localStorage.setItem('jmt_token', ${JSON.stringify(token)})` });
        const p = await context.newPage();
        const status = p.waitForResponse((r) => r.url().endsWith(`/api/v1/workflows/${wfId}/status`));
        await p.goto(`${server.url}/ui/#/workflows/${wfId}`);
        await p.waitForSelector('#summary');
        await (await status).finished();
        // Two frames after the body arrived: the state update has been rendered either way.
        await p.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
        return await p.isVisible('#operator-panel');
      } finally {
        await context.close();
      }
    };
    try {
      expect(await panelShown('bob-token-22')).toBe(false);
      await asAdmin('POST', `/workflows/${wfId}/grants`, { user: 'bob' });
      await asAdmin('POST', `/workflows/${wfId}/grants`, { user: 'watcher' });
      expect(await panelShown('bob-token-22')).toBe(true);
      expect(await panelShown('watch-token-3')).toBe(false);
      await asAdmin('DELETE', `/workflows/${wfId}/grants/bob`);
      expect(await panelShown('bob-token-22')).toBe(false);
    } finally {
      await server.close();
    }
  });
});
