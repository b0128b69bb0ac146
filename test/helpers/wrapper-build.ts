/**
 * Compile the worker-node wrapper on its own into a temporary directory, for tests that run it.
 * Compiling `main.ts` with `--rootDir src/worker-node` also proves the wrapper still imports
 * nothing outside its folder (it must ship as one small file), and tests run the current source
 * rather than whatever an earlier `tsc -p .` left in dist/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface BuiltWrapper {
  /** `[node, <tmp>/main.js]`, as `wrapperCommand()` returns for dist/. */
  command: string[];
  /** `[node, <tmp>/executor.js]`: the local executor, compiled from the same folder. */
  executorCommand: string[];
  dir: string;
  remove(): void;
}

export function buildWrapper(): BuiltWrapper {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-wrapper-'));
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--outDir',
        dir,
        '--rootDir',
        path.join(ROOT, 'src', 'worker-node'),
        '--module',
        'commonjs',
        '--target',
        'ES2022',
        '--lib',
        'ES2022',
        '--types',
        'node',
        '--strict',
        '--esModuleInterop',
        '--skipLibCheck',
        path.join(ROOT, 'src', 'worker-node', 'main.ts'),
        path.join(ROOT, 'src', 'worker-node', 'executor.ts'),
      ],
      { cwd: ROOT, stdio: 'pipe', timeout: 60_000 },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`compiling the worker-node wrapper failed:\n${out}`, { cause: err });
  }
  return {
    command: [process.execPath, path.join(dir, 'main.js')],
    executorCommand: [process.execPath, path.join(dir, 'executor.js')],
    dir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
