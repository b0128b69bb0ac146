/**
 * The Temporal dev server SIGKILLed mid-run and started again on its port with its database file
 * (a private server: the run's shared one is never touched). The worker and the API reconnect by
 * themselves; the run finishes with nothing lost or run twice.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { PrivateTemporal } from './support/private-temporal';
import { expectInvariants, runFaultScenario } from './support/scenario';
import { FAULT_TASKS } from './support/sizes';

let temporal: PrivateTemporal;
let stack: FaultStack;

beforeAll(async () => {
  temporal = await PrivateTemporal.start();
  stack = await startFaultStack({ temporal: { address: temporal.address, namespace: temporal.namespace } });
}, 180_000);
afterAll(async () => {
  await stack?.close();
  await temporal?.stop();
});

describe('Temporal server fault', () => {
  it('dev server SIGKILLed and restarted with its database file: the run finishes', async () => {
    const result = await runFaultScenario(stack, {
      slug: 'temporal-sigkill',
      fault: 'Temporal SIGKILL + restart',
      tasks: FAULT_TASKS,
      injectAfterDone: Math.floor(FAULT_TASKS / 4),
      recovery: 'submitted',
      timeoutS: 300,
      inject: async () => {
        await temporal.kill('SIGKILL');
        await temporal.restart();
        return { restoredAtMs: Date.now(), detectedAfterS: () => null };
      },
    });
    expectInvariants(result);
  }, 360_000);
});
