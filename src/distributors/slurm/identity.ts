/**
 * Who a workflow's jobs run as: the account of the workflow's owner (the API user who bound it,
 * `workflow.user`), never the worker's service account and never silently anybody else.
 *
 * - `user_map[owner]` when the cluster configuration lists the owner (API name ≠ Unix name);
 * - else the legacy single account `user`, when the cluster still sets one (single-tenant installs);
 * - else the owner's own name (API user name = Unix account name, the default).
 *
 * The account must exist on the submit host as NSS sees it (`getent passwd`: local files, LDAP
 * through sssd/nslcd, ...) and must not be a denied one: uid 0, the worker's own account (unless
 * `allow_worker_account`, for a personal install), SlurmUser, or one listed in `deny_users`. Anything else is refused with an IdentityRefusal that says what to
 * configure; the batch's instances then fail with that message (W) and nothing is submitted.
 */
import { execFile } from 'node:child_process';
import { resolveBin, run } from './commands';
import type { SlurmSettings } from './settings';

export interface JobAccount {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

export class IdentityRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityRefusal';
  }
}

/** Looks an account up by name; undefined when NSS does not know it. */
export type AccountLookup = (name: string) => Promise<JobAccount | undefined>;

/**
 * Portable Unix account names (POSIX + Debian's `$` for machine accounts). All digits is refused:
 * `getent passwd 0` and `runuser -u 0` would read it as a uid.
 */
const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\$?$/;

/** Looked-up accounts are re-read after this long, so an account created (or removed) is noticed. */
const LOOKUP_CACHE_MS = 60_000;

export function getentLookup(getent = resolveBin('getent')): AccountLookup {
  return (name) =>
    new Promise((resolve, reject) => {
      execFile(getent, ['passwd', name], { encoding: 'utf8', timeout: 10_000 }, (err, stdout) => {
        // getent exits 2 for "no such key"; anything else is a failure to ask, not an answer.
        if (err) return (err as { code?: unknown }).code === 2 ? resolve(undefined) : reject(err);
        const [user, , uid, gid, , home] = stdout.trim().split('\n')[0].split(':');
        resolve(user ? { user, uid: Number(uid), gid: Number(gid), home } : undefined);
      });
    });
}

/** SlurmUser from `scontrol show config` (`SlurmUser = slurm(64030)`); `slurm` when it cannot be read. */
export async function slurmUserFromConfig(scontrol = resolveBin('scontrol')): Promise<string> {
  try {
    const out = await run(scontrol, ['show', 'config'], { timeoutMs: 15_000 });
    return /^SlurmUser\s*=\s*([^\s(]+)/m.exec(out)?.[1] ?? 'slurm';
  } catch {
    return 'slurm';
  }
}

export interface JobAccountsOptions {
  /** The account the worker runs as (the service account), by name and uid. */
  serviceUser: string;
  serviceUid: number | undefined;
  lookup?: AccountLookup;
  slurmUser?: () => Promise<string>;
  now?: () => number;
}

export class JobAccounts {
  readonly #lookup: AccountLookup;
  readonly #slurmUserName: () => Promise<string>;
  readonly #now: () => number;
  readonly #cache = new Map<string, { at: number; account: Promise<JobAccount | undefined> }>();
  #slurmUser: Promise<string> | undefined;

  constructor(
    private readonly settings: Pick<SlurmSettings, 'userMap' | 'sharedUser' | 'denyUsers' | 'allowWorkerAccount'>,
    private readonly opts: JobAccountsOptions,
  ) {
    this.#lookup = opts.lookup ?? getentLookup();
    this.#slurmUserName = opts.slurmUser ?? (() => slurmUserFromConfig());
    this.#now = opts.now ?? Date.now;
  }

  /** The account name the owner maps to (no checks). */
  accountName(owner: string): string {
    if (Object.prototype.hasOwnProperty.call(this.settings.userMap, owner)) return this.settings.userMap[owner];
    return this.settings.sharedUser ?? owner;
  }

  /** How the name was chosen, for messages. */
  #how(owner: string): string {
    if (Object.prototype.hasOwnProperty.call(this.settings.userMap, owner)) return 'by "user_map"';
    if (this.settings.sharedUser !== undefined) return 'by the cluster\'s single job account "user"';
    return 'by name (no "user_map" entry)';
  }

  /** The owner's job account, checked; throws IdentityRefusal with what to configure. */
  async resolve(owner: string): Promise<JobAccount> {
    const name = this.accountName(owner);
    const what = `workflow owner "${owner}" maps ${this.#how(owner)} to account "${name}"`;
    if (!ACCOUNT_NAME.test(name) || /^\d+$/.test(name)) {
      throw new IdentityRefusal(
        `${what}, which is not a valid Unix account name; add the owner to the cluster's connection_parameters "user_map"; nothing was submitted`,
      );
    }
    const account = await this.#account(name);
    if (!account) {
      throw new IdentityRefusal(
        `${what}, which does not exist on this submit host (getent passwd ${name} found nothing); create the account or map the owner in the cluster's connection_parameters "user_map"; nothing was submitted (jobs never fall back to another account)`,
      );
    }
    const denied = await this.#denied(account);
    if (denied) {
      throw new IdentityRefusal(
        `${what}, which is ${denied}: jobs never run as it; map the owner to their own account in "user_map"; nothing was submitted`,
      );
    }
    return account;
  }

  async #denied(account: JobAccount): Promise<string | undefined> {
    if (account.uid === 0) return 'root (uid 0)';
    const isWorker = account.user === this.opts.serviceUser || account.uid === this.opts.serviceUid;
    if (isWorker && !this.settings.allowWorkerAccount) {
      return `the service account the worker runs as ("${this.opts.serviceUser}"; a personal install, where that is the owner's own login, sets "allow_worker_account": true)`;
    }
    this.#slurmUser ??= this.#slurmUserName();
    const slurmUser = await this.#slurmUser;
    if (account.user === slurmUser) return `SlurmUser ("${slurmUser}")`;
    const slurmAccount = await this.#account(slurmUser).catch(() => undefined);
    if (slurmAccount && slurmAccount.uid === account.uid) return `SlurmUser ("${slurmUser}", uid ${account.uid})`;
    if (this.settings.denyUsers.includes(account.user)) return 'listed in the cluster\'s "deny_users"';
    return undefined;
  }

  #account(name: string): Promise<JobAccount | undefined> {
    const hit = this.#cache.get(name);
    if (hit && this.#now() - hit.at < LOOKUP_CACHE_MS) return hit.account;
    const account = this.#lookup(name);
    this.#cache.set(name, { at: this.#now(), account });
    // A failed lookup is not cached: the next submission asks again.
    account.catch(() => this.#cache.delete(name));
    return account;
  }
}
