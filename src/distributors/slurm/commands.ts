/** Running Slurm's command-line tools: bounded in time and output, errors carrying stderr. */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (${code}): ${stderr.trim() || 'no message'}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string;
}

/**
 * Resolve a program once — in `binDir` first (a Slurm release's own client commands, e.g. those
 * scripts/slurm-up-24.11.sh writes), then on the worker's PATH — so a job environment without PATH
 * cannot hide it.
 */
export function resolveBin(name: string, env: NodeJS.ProcessEnv = process.env, binDir?: string): string {
  const dirs = [
    ...(binDir ? [binDir] : []),
    ...(env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':'),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  for (const dir of dirs) {
    const candidate = `${dir || '.'}/${name}`;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return name;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(
            new CommandError([cmd, ...args.slice(0, 4)].join(' '), code, `${stderr}${stdout}`.trim() || err.message),
          );
        } else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
