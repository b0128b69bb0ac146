/**
 * JWTs for slurmrestd, minted with `scontrol token` (auth/jwt in slurm.conf, the key readable only
 * by slurm and root). Root (or SlurmUser) may mint a token for the job user; any other worker only
 * for itself. A token is renewed when less than a fifth of its lifespan is left, so a request never
 * carries one that expires in flight.
 */
import { run } from './commands';

export class TokenSource {
  #token: string | undefined;
  #expiresAt = 0;
  #pending: Promise<string> | undefined;

  constructor(
    private readonly user: string,
    private readonly currentUser: string,
    private readonly lifespanS: number,
    private readonly scontrol: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async get(): Promise<string> {
    if (this.#token && Date.now() < this.#expiresAt - this.lifespanS * 200) return this.#token;
    this.#pending ??= this.#mint().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /** Drop the cached token (slurmrestd said it is invalid, e.g. after the key changed). */
  invalidate(): void {
    this.#token = undefined;
  }

  async #mint(): Promise<string> {
    const lifespan = Math.round(this.lifespanS);
    const args = ['token', `lifespan=${lifespan}`];
    if (this.user !== this.currentUser) args.splice(1, 0, `username=${this.user}`);
    const issuedAt = Date.now();
    let out: string;
    try {
      out = await run(this.scontrol, args, { env: this.env, timeoutMs: 15_000 });
    } catch (err) {
      const hint =
        this.user !== this.currentUser
          ? ` (only root or SlurmUser may mint a token for "${this.user}"; the worker runs as "${this.currentUser}")`
          : '';
      throw new Error(
        `could not get a Slurm JWT with \`scontrol ${args.join(' ')}\`${hint}: ${(err as Error).message}`,
      );
    }
    const m = /SLURM_JWT=(\S+)/.exec(out);
    if (!m) throw new Error(`unexpected \`scontrol token\` output: ${out.slice(0, 200)}`);
    this.#token = m[1];
    this.#expiresAt = issuedAt + lifespan * 1000;
    return this.#token;
  }
}
