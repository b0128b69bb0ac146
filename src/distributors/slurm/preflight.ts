/**
 * What a job account must be able to do on the shared filesystem before any job is submitted for
 * it: read (and traverse to) the wrapper and the Node binary, and write the log directory. A
 * checkout under /root or a private temporary directory fails this silently on a cluster (the job
 * dies at launch or cannot report); checking the permission bits along each path says which path
 * and which account, and what to do. Used by the distributor before its first submission for an
 * account and by `jmt doctor`. Also measures the wrapper's own resident memory (its share of a
 * job's memory request).
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';

export interface AccountIds {
  user: string;
  uid: number;
  gid: number;
  /** Supplementary groups; the primary group is enough where unknown. */
  groups?: number[];
}

type Need = 'r' | 'w' | 'x';
const BITS: Record<Need, number> = { r: 4, w: 2, x: 1 };

/** Whether the permission bits let `who` do `need` on `file` (root may do anything). */
function allowed(who: AccountIds, file: string, need: Need): boolean {
  if (who.uid === 0) return true;
  const st = statSync(file);
  const shift = st.uid === who.uid ? 6 : st.gid === who.gid || who.groups?.includes(st.gid) ? 3 : 0;
  return ((st.mode >> shift) & BITS[need]) !== 0;
}

/**
 * Why `who` cannot `need` the path (every directory above it must be enterable), or undefined
 * when it can. For a directory that does not exist yet, its nearest existing parent must be writable.
 */
export function pathProblem(who: AccountIds, target: string, need: Need): string | undefined {
  const abs = path.resolve(target);
  let existing = abs;
  for (;;) {
    try {
      statSync(existing);
      break;
    } catch {
      const up = path.dirname(existing);
      if (up === existing) return `${abs} does not exist`;
      existing = up;
    }
  }
  const parts = existing.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = '/' + parts.slice(0, i).join('/');
    if (!allowed(who, dir, 'x'))
      return `account ${who.user} (uid ${who.uid}) cannot enter ${dir}, so it cannot reach ${abs}`;
  }
  // A directory still to be made is made by the worker: reaching its nearest existing parent is enough
  // for 'x'; creating it as the account needs that parent writable.
  const finalNeed = existing === abs || need === 'x' ? need : 'w';
  if (!allowed(who, existing, finalNeed))
    return `account ${who.user} (uid ${who.uid}) cannot ${{ r: 'read', w: 'write', x: statSync(existing).isDirectory() ? 'enter' : 'execute' }[finalNeed]} ${existing}`;
  return undefined;
}

export interface JobAccountCheck {
  account: string;
  ok: boolean;
  problems: string[];
}

/**
 * The wrapper (read), the Node binary (execute) and the log directory (reach: the distributor hands
 * each workflow's directory in it to the account), as the job account will need them.
 */
export function checkJobAccount(
  who: AccountIds,
  paths: { wrapper: string; nodeBin: string; logDir: string },
): JobAccountCheck {
  const problems = [
    pathProblem(who, paths.wrapper, 'r'),
    pathProblem(who, paths.nodeBin, 'x'),
    pathProblem(who, paths.logDir, 'x'),
  ].filter((p): p is string => p !== undefined);
  return { account: who.user, ok: problems.length === 0, problems };
}

/** What to do about failed checks, in one line. */
export function jobAccountAdvice(): string {
  return 'put the checkout and JMT_LOG_DIR where the job accounts can reach them (not under /root or a private temp dir: e.g. chmod o+x on the parent directories, or clone into /srv or /opt)';
}

/** The refusal a distributor gives for an account failing the checks: the paths, the account, the fix. */
export const jobAccountRefusal = (check: JobAccountCheck): string =>
  `job account checks failed: ${check.problems.join('; ')} — ${jobAccountAdvice()}`;

/**
 * The wrapper's resident memory once loaded, in MB: the peak (VmHWM) of a Node process that loads
 * the wrapper script and lets it run until it refuses the missing arguments — the share of every
 * job's memory request that is not the task's. Undefined when it cannot be measured (no /proc).
 */
export async function measureWrapperMemoryMb(nodeBin: string, wrapper: string): Promise<number | undefined> {
  const w = JSON.stringify(wrapper);
  const probe = `process.on('exit', () => { const s = require('fs').readFileSync('/proc/self/status', 'utf8'); process.stdout.write('VmHWM ' + ((/VmHWM:\\s+(\\d+)/.exec(s) || [])[1] || '')); }); process.argv = [process.argv[0], ${w}]; require(${w});`;
  const out = await new Promise<string>((resolve) =>
    execFile(nodeBin, ['-e', probe], { timeout: 15_000, encoding: 'utf8' }, (_err, stdout) => resolve(stdout ?? '')),
  );
  const kb = Number(/VmHWM (\d+)/.exec(out)?.[1]);
  return Number.isFinite(kb) && kb > 0 ? Math.ceil(kb / 1024) : undefined;
}
