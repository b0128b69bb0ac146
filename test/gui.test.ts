/**
 * The web GUI in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): the
 * workflow list, a workflow page with progress and the Temporal link, a task page with logs, and
 * the read-only page a share link opens. Screenshots go to test-results/ for a human to look at.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalWorkflowId } from '../src/control/runs';
import { startTestStack, api, type TestStack } from './helpers/stack';
import { toolOn } from './e2e/helpers';

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
    await page.waitForSelector('svg[aria-label="template DAG"]');
    await page.waitForSelector('svg[aria-label="runtime"]');
    await page.screenshot({ path: path.join(SHOTS, 'gui-workflow.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('opens a task page with its instances and logs', async () => {
    const failed = (await api<{ tasks: { id: number }[] }>(stack, 'GET', `/workflows/${wfId}/tasks?status=F`)).tasks[0];
    await page.goto(`${stack.api.url}/ui/#/tasks/${failed.id}`);
    await page.waitForSelector('#instances');
    await page.waitForSelector('pre');
    expect(await page.textContent('pre')).toContain('ModuleNotFoundError: No module named scipy');
    await page.screenshot({ path: path.join(SHOTS, 'gui-task.png'), fullPage: true });
  });

  it('a share link opens the read-only page of that workflow without operator buttons', async () => {
    const share = await api<{ url: string }>(stack, 'POST', `/workflows/${wfId}/share`, {});
    await page.goto(share.url);
    await page.waitForSelector('#summary');
    expect(await page.textContent('header')).toContain('read-only shared link');
    expect(await page.isVisible('#operator-panel')).toBe(false);
    await page.screenshot({ path: path.join(SHOTS, 'gui-shared.png'), fullPage: true });
  });
});
