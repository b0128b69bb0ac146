/**
 * Postgres restarted mid-run (fast shutdown: every session terminated, then started again) — a
 * private cluster of this test, never the machine's server. The API answers 5xx while it is down
 * (the wrappers retry), the worker's activities fail and are retried by Temporal; afterwards the
 * run finishes with nothing lost or run twice.
 */
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { PrivatePostgres, whyNoPrivatePostgres } from './support/private-postgres';
import { firstWrapperLine, WRAPPER_API_TROUBLE } from './support/procs';
import { expectInvariants, runFaultScenario } from './support/scenario';
import { FAULT_TASKS } from './support/sizes';
import { waitFor } from '../helpers/wait';

const skipReason = whyNoPrivatePostgres();
let cluster: PrivatePostgres | undefined;
let stack: FaultStack | undefined;

beforeAll(async () => {
  if (skipReason) {
    console.warn(`SKIPPING the Postgres restart fault: ${skipReason}`);
    return;
  }
  cluster = await PrivatePostgres.start();
  stack = await startFaultStack({ databaseUrl: cluster.url('jmt_faults') });
}, 180_000);
afterAll(async () => {
  await stack?.close();
  await cluster?.destroy();
});

describe('Postgres fault', () => {
  it('Postgres restarted mid-run: the run finishes, nothing lost or run twice', async (ctx: TestContext) => {
    if (!stack || !cluster) return ctx.skip();
    const pg = cluster;
    const s = stack;
    const result = await runFaultScenario(s, {
      slug: 'postgres-restart',
      fault: 'Postgres restart',
      tasks: FAULT_TASKS,
      injectAfterDone: Math.floor(FAULT_TASKS / 4),
      recovery: 'done',
      timeoutS: 300,
      inject: async ({ injectedAtMs }) => {
        await pg.stopServer();
        // Down until a wrapper has felt it (the API answering 5xx), bounded: then started again.
        const complained = await waitFor(async () => firstWrapperLine(s.logDir, WRAPPER_API_TROUBLE, injectedAtMs), {
          timeoutMs: 30_000,
          intervalMs: 250,
          what: 'a wrapper to find the database gone',
        }).catch(() => undefined);
        await pg.startServer();
        return {
          restoredAtMs: Date.now(),
          detectedAfterS: () => (complained === undefined ? null : (complained - injectedAtMs) / 1000),
        };
      },
    });
    expectInvariants(result);
  }, 360_000);
});
