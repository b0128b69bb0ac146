/**
 * One look at a Slurm cluster as the distributor would use it, for `jmt doctor`: the release, the
 * REST versions offered and the one chosen, the nodes and their states, accounting (slurmdbd),
 * cgroup enforcement, whether each job account can reach the wrapper, Node and the log directory,
 * and the wrapper's own memory share. Never throws: what cannot be asked is reported as such.
 */
import { resolveBin, run } from './commands';
import { getentLookup } from './identity';
import { checkJobAccount, jobAccountAdvice, measureWrapperMemoryMb } from './preflight';
import { SlurmRestBackend } from './rest-backend';
import { parseSlurmSettings, safeUser } from './settings';
import { TokenCache } from './token';
import { WRAPPER_MEMORY_MB } from '../../domain/wrapper-memory';

export interface SlurmProbe {
  cluster: string;
  mode: string;
  release?: string;
  rest_versions_offered?: string[];
  rest_version?: string;
  nodes?: { count: number; states: Record<string, string> };
  accounting?: boolean;
  cgroups?: string;
  job_accounts_ok: boolean;
  job_accounts: { account: string; ok: boolean; problems: string[]; advice?: string }[];
  wrapper_memory_mb?: number;
  /** What each job asks for on top of its task's memory (domain/wrapper-memory.ts). */
  wrapper_share_mb: number;
  errors: string[];
}

/** `Key = Value` lines of `scontrol show config`. */
function configValues(out: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^(\w+)\s*=\s*(.*)$/.exec(line.trim());
    if (m) kv[m[1]] = m[2].trim();
  }
  return kv;
}

export async function probeSlurm(
  cluster: string,
  params: Record<string, unknown>,
  paths: { wrapper: string; logDir: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<SlurmProbe> {
  const settings = parseSlurmSettings(params, env);
  const out: SlurmProbe = {
    cluster,
    mode: settings.mode,
    job_accounts_ok: false,
    job_accounts: [],
    wrapper_share_mb: WRAPPER_MEMORY_MB,
    errors: [],
  };
  const scontrol = resolveBin('scontrol', env, settings.binDir);
  const accounts = [
    ...new Set([...(settings.sharedUser ? [settings.sharedUser] : []), ...Object.values(settings.userMap)]),
  ];
  if (accounts.length === 0) accounts.push(env.JMT_SLURM_JOB_USER ?? safeUser());
  try {
    const kv = configValues(await run(scontrol, ['show', 'config'], { timeoutMs: 15_000 }));
    out.release ??= kv.SLURM_VERSION;
    out.accounting = /slurmdbd/.test(kv.AccountingStorageType ?? '');
    const cgroupTask = /task\/cgroup/.test(kv.TaskPlugin ?? '') && !/disabled/.test(kv.CgroupPlugin ?? '');
    out.cgroups = cgroupTask ? (kv.CgroupPlugin ?? 'cgroup') : 'off';
  } catch (err) {
    out.errors.push(`scontrol show config (${scontrol}): ${(err as Error).message.split('\n')[0]}`);
  }
  if (settings.mode === 'rest') {
    const asUser = accounts[0];
    const rest = new SlurmRestBackend(settings, new TokenCache(safeUser(), 300, scontrol, env), scontrol);
    try {
      const server = await rest.server(asUser);
      out.rest_versions_offered = server.offered;
      out.rest_version = server.version;
      out.accounting = server.accounting || out.accounting;
      out.release = (await rest.release(asUser)) ?? out.release;
      const nodes = await rest.nodes(asUser);
      out.nodes = { count: nodes.length, states: Object.fromEntries(nodes.map((n) => [n.name, n.state.join('+')])) };
    } catch (err) {
      out.errors.push(`slurmrestd ${settings.restUrl}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const lookup = getentLookup();
  for (const account of accounts) {
    const ids = await lookup(account).catch(() => undefined);
    if (!ids) {
      out.job_accounts.push({
        account,
        ok: false,
        problems: [`account ${account} does not exist here (getent passwd)`],
      });
      continue;
    }
    const check = checkJobAccount(ids, { wrapper: paths.wrapper, nodeBin: settings.nodeBin, logDir: paths.logDir });
    out.job_accounts.push({ ...check, advice: check.ok ? undefined : jobAccountAdvice() });
  }
  out.job_accounts_ok = out.job_accounts.length > 0 && out.job_accounts.every((a) => a.ok);
  out.wrapper_memory_mb = await measureWrapperMemoryMb(settings.nodeBin, paths.wrapper);
  return out;
}
