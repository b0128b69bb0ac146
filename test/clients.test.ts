/**
 * The Python and R clients (clients/python, clients/r) against a real stack: API + worker +
 * Temporal + a fresh Postgres. The suites themselves are pytest and an Rscript; this file starts
 * the stack, runs them with JMT_API_URL pointing at it, and fails with their output if they fail.
 * Needs the project venv with the client and pytest (scripts/setup.sh) and R with httr2 and
 * jsonlite (scripts/setup-r.sh, which setup.sh runs).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

interface Outcome {
  code: number | null;
  signal: string | null;
  output: string;
}

/** Run a command to completion (bounded), collecting stdout and stderr in one transcript. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: ROOT, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
        const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
        const note = e && typeof e.code === 'string' ? `\n[could not start ${command}: ${e.code}]` : '';
        const killed = e?.signal ? `\n[killed by ${e.signal} after ${timeoutMs / 1000} s]` : '';
        resolve({ code, signal: e?.signal ?? null, output: `${stdout}\n${stderr}${note}${killed}` });
      },
    );
  });
}

let stack: TestStack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startTestStack();
  env = { ...stack.env, JMT_API_URL: stack.api.url, PYTHONDONTWRITEBYTECODE: '1' };
  delete env.JOBMON__HTTP__SERVICE_URL;
});
afterAll(async () => {
  await stack?.close();
});

describe('client packages against the real API', () => {
  it('passes the Python client suite (pytest clients/python/tests)', { timeout: 420_000 }, async () => {
    expect(existsSync(PYTHON), `${PYTHON} missing: run bash scripts/setup.sh`).toBe(true);
    const probe = await run(PYTHON, ['-c', 'import jobmon_temporal, pytest'], env, 30_000);
    expect(probe.code, `the venv lacks jobmon_temporal or pytest (run bash scripts/setup.sh):\n${probe.output}`).toBe(
      0,
    );

    const result = await run(
      PYTHON,
      ['-m', 'pytest', 'clients/python/tests', '-q', '-rfEs', '-p', 'no:cacheprovider'],
      env,
      400_000,
    );
    expect(result.code, result.output).toBe(0);
    // Every test must have run: a skipped end-to-end test would mean JMT_API_URL did not arrive.
    const summary = /(\d+) passed/.exec(result.output);
    expect(summary, result.output).not.toBeNull();
    expect(Number(summary?.[1]), result.output).toBeGreaterThanOrEqual(17);
    expect(result.output, result.output).not.toMatch(/\d+ (skipped|failed|error)/);
  });

  it('runs the R client end to end (Rscript clients/r/tests/e2e.R)', { timeout: 240_000 }, async () => {
    const result = await run('Rscript', ['clients/r/tests/e2e.R'], env, 220_000);
    expect(result.output, `Rscript is not installed: run bash scripts/setup-r.sh\n${result.output}`).not.toMatch(
      /could not start Rscript/,
    );
    expect(result.code, result.output).toBe(0);
    expect(result.output, result.output).toMatch(/all \d+ checks passed/);
  });
});
