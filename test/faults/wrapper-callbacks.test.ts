/**
 * Faults between the wrappers and the API, through a chaos proxy (support/chaos-proxy.ts) that
 * every wrapper of this stack calls instead of the API: callbacks duplicated, delayed and
 * reordered; then the API unreachable for a while (refused and dropped connections). Each run
 * must still finish with every task DONE exactly once and no task running twice at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { ChaosProxy } from './support/chaos-proxy';
import { writeFaultRow } from './support/fault-report';
import { firstWrapperLine, WRAPPER_API_TROUBLE } from './support/procs';
import { expectInvariants, runFaultScenario } from './support/scenario';
import { FAULT_TASKS } from './support/sizes';

/** Longer than report_by (heartbeat 1 s × 3.1), so the monitors must ask the distributor too. */
const OUTAGE_MS = 15_000;

let stack: FaultStack;
let proxy: ChaosProxy;

beforeAll(async () => {
  proxy = await ChaosProxy.start();
  stack = await startFaultStack({ wrapperApiUrl: proxy.url });
  proxy.target = stack.apiUrl;
});
afterAll(async () => {
  await stack?.close();
  await proxy?.close();
});

describe('wrapper callback faults', () => {
  it('callbacks duplicated, delayed and reordered: every task DONE once, none run twice at once', async () => {
    const result = await runFaultScenario(stack, {
      slug: 'callbacks-chaos',
      fault: 'callbacks dup/delay/reorder',
      tasks: FAULT_TASKS,
      injectAfterDone: Math.floor(FAULT_TASKS / 8),
      recovery: 'done',
      timeoutS: 240,
      inject: async ({ injectedAtMs }) => {
        proxy.chaos({ delayProbability: 0.3, maxDelayMs: 1_500, duplicateProbability: 0.3, seed: 20261125 });
        return {
          // Chaos lasts to the end of the run; "recovered" = a task finished under it.
          restoredAtMs: injectedAtMs,
          detectedAfterS: () => null,
        };
      },
    });
    proxy.chaos(undefined);
    const c = proxy.counts;
    result.row.note = [
      `proxy: ${c.delayed} delayed, ${c.duplicated} duplicated, ${c.reordered} reordered`,
      result.row.note,
    ]
      .filter(Boolean)
      .join('; ');
    writeFaultRow('callbacks-chaos', result.row);
    expectInvariants(result);
    expect(c.duplicated).toBeGreaterThan(0);
    expect(c.reordered).toBeGreaterThan(0);
  }, 300_000);

  it(`API unreachable from the wrappers for ${OUTAGE_MS / 1000} s: wrappers retry, the run finishes`, async () => {
    const result = await runFaultScenario(stack, {
      slug: 'api-unreachable',
      fault: `API unreachable ${OUTAGE_MS / 1000} s`,
      tasks: FAULT_TASKS,
      injectAfterDone: Math.floor(FAULT_TASKS / 4),
      recovery: 'done',
      timeoutS: 240,
      inject: async ({ injectedAtMs }) => {
        await proxy.outage(OUTAGE_MS);
        const complained = firstWrapperLine(stack.logDir, WRAPPER_API_TROUBLE, injectedAtMs);
        return {
          restoredAtMs: Date.now(),
          detectedAfterS: () => (complained === undefined ? null : (complained - injectedAtMs) / 1000),
          note: `refused new connections, dropped ${proxy.counts.dropped} open ones`,
        };
      },
    });
    expectInvariants(result);
  }, 300_000);
});
