/**
 * JWTs for slurmrestd, one per job account, minted with `scontrol token username=<account>
 * lifespan=<s>` (auth/jwt in slurm.conf; the key is readable only by slurm and root). Only root or
 * SlurmUser may mint a token for another account, so a REST-mode worker that submits for the
 * workflows' owners runs as one of those two (docs/slurm.md, "Identity").
 *
 * Stored in this process's memory only, per account: never written to disk or the database, never
 * part of an activity's input or output (so never in Temporal history), never in a log line or an
 * error message. A token is renewed once 80 % of its lifespan has passed, so a request never
 * carries one that expires in flight; a 401 (key rotated, token revoked) drops it and mints anew.
 */
import { run } from './commands';
import { redactSecrets } from './redact';

/** Renew when this fraction of a token's life has passed. */
export const RENEW_AT = 0.8;

interface Cached {
  token: string;
  renewAt: number;
}

export class TokenCache {
  readonly #tokens = new Map<string, Cached>();
  readonly #pending = new Map<string, Promise<string>>();

  constructor(
    private readonly currentUser: string,
    private readonly lifespanS: number,
    private readonly scontrol: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token for `user`, minted when there is none or the cached one is past 80 % of its life. */
  async get(user: string): Promise<string> {
    const cached = this.#tokens.get(user);
    if (cached && this.now() < cached.renewAt) return cached.token;
    let pending = this.#pending.get(user);
    if (!pending) {
      pending = this.#mint(user).finally(() => this.#pending.delete(user));
      this.#pending.set(user, pending);
    }
    return pending;
  }

  /** Drop `user`'s cached token (slurmrestd said it is invalid, e.g. after the key changed). */
  invalidate(user: string): void {
    this.#tokens.delete(user);
  }

  /** Accounts with a cached token (for tests and diagnostics; never the tokens). */
  users(): string[] {
    return [...this.#tokens.keys()];
  }

  async #mint(user: string): Promise<string> {
    const lifespan = Math.max(1, Math.round(this.lifespanS));
    const args = ['token', `lifespan=${lifespan}`];
    if (user !== this.currentUser) args.splice(1, 0, `username=${user}`);
    const issuedAt = this.now();
    let out: string;
    try {
      out = await run(this.scontrol, args, { env: this.env, timeoutMs: 15_000 });
    } catch (err) {
      const hint =
        user !== this.currentUser
          ? ` (only root or SlurmUser may mint a token for "${user}"; the worker runs as "${this.currentUser}")`
          : '';
      throw new Error(
        `could not get a Slurm JWT with \`scontrol ${args.join(' ')}\`${hint}: ${redactSecrets((err as Error).message)}`,
      );
    }
    const m = /SLURM_JWT=(\S+)/.exec(out);
    // The output is not quoted: whatever scontrol printed might be (part of) a token.
    if (!m) throw new Error(`\`scontrol ${args.join(' ')}\` printed no SLURM_JWT= line`);
    this.#tokens.set(user, { token: m[1], renewAt: issuedAt + lifespan * 1000 * RENEW_AT });
    return m[1];
  }
}
