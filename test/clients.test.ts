/**
 * The Python and R clients (clients/python, clients/r) against a real stack: API + worker +
 * Temporal + a fresh Postgres. The suites themselves are pytest, testthat and Rscripts; this file
 * starts the stack, runs them with JMT_API_URL pointing at it, and fails with their output if they
 * fail. The R package is installed (`R CMD INSTALL clients/r`) into a library of this run, and the
 * Jobmon-shaped scripts in clients/r/inst/examples run from a copy of that directory, unchanged:
 * `library(jobmonr)`, the server address from JMT_API_URL, relative paths from their directory.
 * Needs the project venv with the client and pytest (scripts/setup.sh) and R with httr2, jsonlite,
 * testthat and yaml (scripts/setup-r.sh, which setup.sh runs).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const R_EXAMPLES = path.join(ROOT, 'clients', 'r', 'inst', 'examples');

interface Outcome {
  code: number | null;
  signal: string | null;
  output: string;
}

/** Run a command to completion (bounded), collecting stdout and stderr in one transcript. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, cwd = ROOT): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 },
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
let scratch: string;

beforeAll(async () => {
  stack = await startTestStack();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jmt-clients-'));
  env = { ...stack.env, JMT_API_URL: stack.api.url, PYTHONDONTWRITEBYTECODE: '1' };
  delete env.JOBMON__HTTP__SERVICE_URL;
});
afterAll(async () => {
  await stack?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
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

  it(
    'builds a wheel (python -m build) whose tests pass from the wheel, with the [yaml] extra present',
    { timeout: 420_000 },
    async () => {
      // A copy, so the build's own build/ and egg-info never land in the working tree.
      const source = path.join(scratch, 'py-source');
      cpSync(path.join(ROOT, 'clients', 'python'), source, {
        recursive: true,
        filter: (p) => !/__pycache__|\.egg-info|[/]build$/.test(p),
      });
      const wheels = path.join(scratch, 'py-wheels');
      const built = await run(
        PYTHON,
        ['-m', 'build', '--wheel', '--no-isolation', '--outdir', wheels, source],
        env,
        120_000,
      );
      expect(built.code, `python -m build failed (scripts/setup.sh installs build):\n${built.output}`).toBe(0);
      const wheel = /Successfully built (\S+\.whl)/.exec(built.output)?.[1];
      expect(wheel, built.output).toBeDefined();
      const site = path.join(scratch, 'py-site');
      const installed = await run(
        PYTHON,
        ['-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index', '--target', site, path.join(wheels, wheel!)],
        env,
        60_000,
      );
      expect(installed.code, installed.output).toBe(0);
      // The tests, without the package source beside them: what they import must be the wheel's.
      const check = path.join(scratch, 'py-wheel-check');
      cpSync(path.join(source, 'tests'), path.join(check, 'tests'), { recursive: true });
      cpSync(path.join(source, 'examples'), path.join(check, 'examples'), { recursive: true });
      const wheelEnv = { ...env, PYTHONPATH: site };
      const where = await run(
        PYTHON,
        ['-c', 'import jobmon_temporal, yaml; print(jobmon_temporal.__file__)'],
        wheelEnv,
        30_000,
        check,
      );
      expect(where.output.trim(), where.output).toBe(path.join(site, 'jobmon_temporal', '__init__.py'));
      const result = await run(
        PYTHON,
        ['-m', 'pytest', 'tests', '-q', '-rfEs', '-p', 'no:cacheprovider'],
        wheelEnv,
        360_000,
        check,
      );
      expect(result.code, result.output).toBe(0);
      expect(Number(/(\d+) passed/.exec(result.output)?.[1]), result.output).toBeGreaterThanOrEqual(17);
      expect(result.output, result.output).not.toMatch(/\d+ (skipped|failed|error)/);
    },
  );

  describe('the R package (jobmonr)', () => {
    let rEnv: NodeJS.ProcessEnv;

    beforeAll(async () => {
      const library = path.join(scratch, 'R-library');
      cpSync(path.join(ROOT, 'clients', 'r'), path.join(scratch, 'r-source'), { recursive: true });
      mkdirSync(library);
      const installed = await run(
        'R',
        ['CMD', 'INSTALL', '--no-test-load', '-l', library, 'r-source'],
        env,
        180_000,
        scratch,
      );
      expect(
        installed.output,
        `Rscript is not installed: run bash scripts/setup-r.sh\n${installed.output}`,
      ).not.toMatch(/could not start R/);
      expect(installed.code, installed.output).toBe(0);
      // Jobmon's quickstart takes its interpreter from RETICULATE_PYTHON; `python` is the venv's.
      rEnv = {
        ...env,
        R_LIBS: library,
        RETICULATE_PYTHON: PYTHON,
        PATH: `${path.dirname(PYTHON)}:${env.PATH ?? ''}`,
      };
    }, 200_000);

    it('passes its testthat suite against the installed package', { timeout: 120_000 }, async () => {
      const result = await run(
        'Rscript',
        [
          '-e',
          'testthat::test_dir("clients/r/tests/testthat", package = "jobmonr", load_package = "installed", stop_on_failure = TRUE)',
        ],
        rEnv,
        100_000,
      );
      expect(result.code, result.output).toBe(0);
      expect(result.output, result.output).toMatch(/FAIL 0 .*PASS [1-9]/);
    });

    it(
      'runs end to end through its earlier jmt_* names (Rscript clients/r/tests/e2e.R)',
      { timeout: 240_000 },
      async () => {
        const result = await run('Rscript', ['clients/r/tests/e2e.R'], rEnv, 220_000);
        expect(result.code, result.output).toBe(0);
        expect(result.output, result.output).toMatch(/all \d+ checks passed/);
      },
    );

    // Each Jobmon-shaped script runs from its own copy of the examples directory, as a user would
    // run it from theirs: its relative paths must resolve there, not in the worker's directory.
    const scripts: [string, RegExp][] = [
      ['create_tasks_example.R', /run \d+ finished: D/],
      ['quickstart_health_example.R', /Workflow completed successfully!/],
      ['six_job_test.R', /All good: six jobs DONE/],
      ['resume_example.R', /resumed workflows \d+ and \d+: D/],
    ];
    for (const [script, success] of scripts) {
      it(`runs the Jobmon-shaped ${script} to DONE`, { timeout: 360_000 }, async () => {
        const dir = mkdtempSync(path.join(scratch, 'example-'));
        cpSync(R_EXAMPLES, dir, { recursive: true });
        const result = await run('Rscript', [script], rEnv, 340_000, dir);
        expect(result.code, result.output).toBe(0);
        expect(result.output, result.output).toMatch(success);
        if (script === 'create_tasks_example.R') {
          // model_script.py wrote its outputs next to the control script.
          for (const loc of [1, 2, 3]) expect(existsSync(path.join(dir, 'outputs', `loc_${loc}.txt`))).toBe(true);
        }
        if (script === 'quickstart_health_example.R') {
          expect(result.output).toMatch(/multiprocess does not use the resource key\(s\) .*constraints.*project/);
          expect(existsSync(path.join(dir, 'quickstart_data', 'summary.txt'))).toBe(true);
        }
      });
    }
  });
});
