/**
 * slurmctld of the one-node Slurm (scripts/slurm-up.sh): its pid and a restart exactly as
 * slurm-up.sh starts it. slurmd's counterparts are in test/slurm/helpers.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../helpers/wait';

const exec = promisify(execFile);
const STATE = process.env.JMT_SLURM_STATE ?? '/var/lib/jmt-slurm';
const SLURMCTLD_PID_FILE = path.join(STATE, 'run', 'slurmctld.pid');

/** slurmctld's pid from its pid file, if that process is alive and is slurmctld. */
export function slurmctldPid(): number | undefined {
  if (!existsSync(SLURMCTLD_PID_FILE)) return undefined;
  const pid = Number(readFileSync(SLURMCTLD_PID_FILE, 'utf8').trim());
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'slurmctld' ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function pingOk(): Promise<boolean> {
  try {
    const { stdout } = await exec('scontrol', ['ping'], { timeout: 10_000 });
    return /is UP/.test(stdout);
  } catch {
    return false;
  }
}

/** Start slurmctld (it daemonizes and recovers its state from StateSaveLocation); wait until it answers. */
export async function startSlurmctld(): Promise<number> {
  const before = slurmctldPid();
  if (before !== undefined) return before;
  await exec('/usr/sbin/slurmctld', [], { timeout: 30_000 });
  const pid = await waitFor(async () => slurmctldPid(), {
    timeoutMs: 20_000,
    intervalMs: 100,
    what: 'slurmctld to start',
  });
  await waitFor(pingOk, { timeoutMs: 60_000, intervalMs: 250, what: 'the restarted slurmctld to answer' });
  return pid;
}
