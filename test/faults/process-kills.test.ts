/**
 * Faults of the project's own processes while a few hundred short tasks run on the multiprocess
 * distributor: the worker SIGKILLed (and restarted), the API SIGKILLed (and restarted on its port;
 * the wrappers ride it out), and jobs killed silently (wrapper and command SIGKILLed: found lost
 * by their heartbeat timeout and retried). Each ends with the invariants of support/fault-report.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalWorkflowId } from '../../src/temporal/ids';
import { connectTemporal, type TemporalConnections } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { instances } from '../e2e/helpers';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { watchFor } from './support/fault-report';
import { alive, firstWrapperLine, killQuietly, parentPid, WRAPPER_API_TROUBLE } from './support/procs';
import { expectInvariants, runFaultScenario } from './support/scenario';
import { FAULT_TASKS } from './support/sizes';

let stack: FaultStack;
let temporal: TemporalConnections;
let scratch: string;

beforeAll(async () => {
  stack = await startFaultStack();
  temporal = await connectTemporal();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jmt-faults-kills-'));
});
afterAll(async () => {
  await stack?.close();
  await temporal?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('process faults', () => {
  it('worker SIGKILLed mid-run and restarted: the run finishes, nothing lost or run twice', async () => {
    const result = await runFaultScenario(stack, {
      slug: 'worker-sigkill',
      fault: 'worker SIGKILL + restart',
      tasks: FAULT_TASKS,
      injectAfterDone: Math.floor(FAULT_TASKS / 4),
      recovery: 'submitted',
      timeoutS: 240,
      inject: async ({ workflowId, injectedAtMs }) => {
        await stack.worker.stop('SIGKILL');
        stack.worker.start();
        const restoredAtMs = Date.now();
        // Temporal notices a dead worker's batch monitors by their heartbeat timeout and retries them.
        const handle = temporal.client.workflow.getHandle(temporalWorkflowId(stack.config, workflowId));
        const detected = watchFor(async () => {
          const d = await handle.describe();
          return (d.raw.pendingActivities ?? []).some((a) => (a.attempt ?? 1) > 1);
        }, injectedAtMs);
        // The run may end before any monitor needed a retry; then there was nothing to detect.
        return {
          restoredAtMs,
          detectedAfterS: () => {
            detected.stop();
            return detected.result;
          },
        };
      },
    });
    expectInvariants(result);
  }, 300_000);

  it('API SIGKILLed mid-run and restarted on its port: wrappers ride it out', async () => {
    const result = await runFaultScenario(stack, {
      slug: 'api-sigkill',
      fault: 'API SIGKILL + restart',
      tasks: FAULT_TASKS,
      injectAfterDone: Math.floor(FAULT_TASKS / 4),
      recovery: 'done',
      timeoutS: 240,
      inject: async ({ injectedAtMs }) => {
        await stack.api.stop('SIGKILL');
        // Down until a wrapper has felt it (a failed report or heartbeat), then back on the same port.
        const complained = await waitFor(
          async () => firstWrapperLine(stack.logDir, WRAPPER_API_TROUBLE, injectedAtMs),
          {
            timeoutMs: 60_000,
            intervalMs: 250,
            what: 'a wrapper to find the API gone',
          },
        );
        await stack.startApi();
        return { restoredAtMs: Date.now(), detectedAfterS: () => (complained - injectedAtMs) / 1000 };
      },
    });
    expectInvariants(result);
  }, 300_000);

  it('jobs killed silently (wrapper and command SIGKILLed) are declared lost and retried', async () => {
    const arm = path.join(scratch, 'arm');
    const victims = [1, 2, 3].map((v) => path.join(scratch, `victim-${v}`));
    // Once armed, the next three commands to start become victims: they record their pid and hang.
    const command = `sleep 0.2; if [ -e ${arm} ]; then for v in ${victims.join(' ')}; do if mkdir $v 2>/dev/null; then echo $$ > $v/pid; exec sleep 120; fi; done; fi; true`;
    let killedAtMs = 0;
    const result = await runFaultScenario(stack, {
      slug: 'job-killed-silently',
      fault: 'job SIGKILLed silently (x3)',
      tasks: FAULT_TASKS,
      command,
      injectAfterDone: Math.floor(FAULT_TASKS / 4),
      // Recovered = the last victim task DONE again (its retry), after the kill.
      recovery: async ({ workflowId }) => {
        const { rows } = await sql<{ t: Date | null }>`
          select max(d.status_date) as t from task_instance d
           where d.workflow_id = ${workflowId} and d.status = 'D'
             and d.task_id in (select task_id from task_instance where workflow_id = ${workflowId} and status = 'U')`.execute(
          stack.db,
        );
        return rows[0]?.t ? (new Date(rows[0].t).getTime() - killedAtMs) / 1000 : null;
      },
      timeoutS: 240,
      inject: async ({ workflowId }) => {
        writeFileSync(arm, '');
        const pids = await waitFor(
          async () => {
            const files = victims.map((v) => path.join(v, 'pid'));
            if (!files.every((f) => existsSync(f))) return undefined;
            const pids = files.map((f) => Number(readFileSync(f, 'utf8')));
            return pids.every((p) => p > 0) ? pids : undefined;
          },
          { timeoutMs: 120_000, what: 'three victim commands to start' },
        );
        killedAtMs = Date.now();
        for (const commandPid of pids) {
          const wrapperPid = parentPid(commandPid);
          if (wrapperPid !== undefined && wrapperPid > 1) killQuietly(wrapperPid);
          killQuietly(commandPid);
        }
        await waitFor(async () => pids.every((p) => !alive(p)), { timeoutMs: 10_000, what: 'the victims to die' });
        return {
          restoredAtMs: killedAtMs,
          // Detected = the lost instances' status change (heartbeat timeout + one monitor pass).
          detectedAfterS: async () => {
            const lost = (await instances(stack.db, workflowId)).filter((r) => r.status === 'U');
            const times = await stack.db
              .selectFrom('task_instance')
              .select('status_date')
              .where('id', 'in', lost.length ? lost.map((r) => r.id) : [-1])
              .execute();
            return times.length
              ? Math.min(...times.map((t) => new Date(t.status_date).getTime() - killedAtMs)) / 1000
              : null;
          },
        };
      },
    });
    expectInvariants(result);
    const lost = (await instances(stack.db, result.workflowId)).filter((r) => r.status !== 'D');
    expect(lost.length).toBe(3);
    expect(lost.every((r) => r.status === 'U')).toBe(true);
    const errors = await stack.db
      .selectFrom('task_instance_error_log')
      .select('description')
      .where(
        'task_instance_id',
        'in',
        lost.map((r) => r.id),
      )
      .execute();
    expect(errors.length).toBe(3);
    for (const e of errors) expect(e.description).toMatch(/lost/);
  }, 300_000);
});
