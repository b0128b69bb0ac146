/**
 * Jobs report with job tokens, never with anybody's API token (issue 9, "no one acts beyond their
 * rights"): with JMT_TOKENS in force, a real multiprocess run finishes, every wrapper authenticated
 * with its batch's job token, and neither the job token nor any API token reaches the command's
 * environment or its output.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTokens } from '../../src/api/auth';
import { Tool } from '../../src/client';
import { startTestStack, type TestStack } from '../helpers/stack';
import { taskStatusCounts } from './helpers';

const TOKENS = 'alice-token-1:alice:operator,watch-token-3:watcher:observer,admin-token-4:root:admin';

let stack: TestStack;
let scratch: string;

beforeAll(async () => {
  stack = await startTestStack({ auth: { mode: 'tokens', tokens: parseTokens(TOKENS) } });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jmt-job-tokens-'));
});
afterAll(async () => {
  await stack?.close();
});

describe('job tokens', () => {
  it('wrappers report with their batch token; commands see no token at all', async () => {
    const tool = new Tool('job-tokens', {
      config: { ...stack.config, token: 'alice-token-1' },
      stderr: { write: () => true },
    });
    const tt = tool.getTaskTemplate({
      templateName: 'print-env',
      commandTemplate: `env > ${scratch}/env-{i}.txt`,
      nodeArgs: ['i'],
    });
    const wf = tool.createWorkflow({
      workflowArgs: 'job-tokens',
      defaultClusterName: 'multiprocess',
      defaultComputeResources: { queue: 'null.q' },
    });
    for (const i of [1, 2, 3]) wf.addTask(tt.createTask({ i, maxAttempts: 1 }));

    expect(await wf.run({ progress: false, secondsUntilTimeout: 90 })).toBe('D');
    expect(await taskStatusCounts(stack.database.db, wf.workflowId as number)).toEqual({ D: 3 });

    const dumps = readdirSync(scratch).map((f) => readFileSync(path.join(scratch, f), 'utf8'));
    expect(dumps).toHaveLength(3);
    for (const dump of dumps) {
      expect(dump).not.toMatch(/JMT_TOKEN/);
      expect(dump).not.toMatch(/jmtjob1\./);
      for (const token of ['alice-token-1', 'watch-token-3', 'admin-token-4']) expect(dump).not.toContain(token);
    }
  }, 120_000);
});
