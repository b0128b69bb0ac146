/**
 * Determinism guard for deploys: the recorded histories in test/fixtures/histories (runs of the
 * main workflow made by earlier versions) must replay on the current workflow code. A change that
 * would break running executions fails here; version it with `patched()` instead.
 * Record new fixtures with `JMT_RECORD_HISTORIES=1 npx vitest run test/e2e/run.test.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../../src/worker/create-worker';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'histories');

describe('replay of recorded workflow histories', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('replays every recorded history without a determinism error', async () => {
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      // JSON as `temporal workflow show --output json` writes it; the worker converts it.
      history: JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')) as unknown,
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
