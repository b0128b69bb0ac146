/**
 * slurmctld of the one-node Slurm (scripts/slurm-up.sh): its pid and a restart exactly as
 * slurm-up.sh starts it, and the clean-up an administrator does after killing it. slurmd's
 * counterparts are in test/slurm/helpers.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/**
 * What a Slurm administrator does after a SIGKILLed slurmctld: cancel the jobs it still calls
 * RUNNING although no slurmstepd runs them on the (only) node. They ended while their completion
 * was lost with the killed slurmctld's unsaved state; Slurm purges such jobs only when slurmd
 * restarts, and until then they hold the node's CPUs. Our instances of them are already final: the
 * wrappers reported before exiting. `minAgeS` spares jobs still starting (no slurmstepd yet).
 * Returns the ids cancelled.
 */
export function sweepGhostJobs(minAgeS = 15): string[] {
  const steps = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const m = /^slurmstepd: \[(\d+)\./.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      if (m) steps.add(m[1]);
    } catch {
      // The process ended while we looked.
    }
  }
  const nowS = Date.now() / 1000;
  const ghosts = execFileSync('squeue', ['-h', '-t', 'RUNNING', '-o', '%A %i %S'], {
    encoding: 'utf8',
    timeout: 10_000,
  })
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .filter(([raw, , start]) => !steps.has(raw) && nowS - new Date(start).getTime() / 1000 > minAgeS)
    .map(([, id]) => id);
  // By the %i form: scancel refuses an array task's raw id ("Invalid job id specified").
  if (ghosts.length > 0) execFileSync('scancel', ghosts, { timeout: 10_000 });
  return ghosts;
}

/** Cancel every job in the queue (the Slurm tests hold a lock, so all of them are the caller's). */
export function cancelEveryJob(): void {
  const ids = execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8', timeout: 10_000 })
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) execFileSync('scancel', ids, { timeout: 10_000 });
}
