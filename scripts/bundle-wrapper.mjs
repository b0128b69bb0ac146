/**
 * Bundle the worker-node wrapper into one CommonJS file, dist/worker-node/wrapper.cjs (and the
 * local executor, which runs the same code for many tasks, into dist/worker-node/executor.cjs), after
 * `tsc -p .`. One file means no module resolution at start-up (stat/realpath of every import,
 * package.json scope lookups: a few ms of every task's CPU), and it is what a compute node needs
 * copied: it imports Node built-ins only. The distributors start it when it exists and fall back
 * to tsc's dist/src/worker-node/main.js otherwise (src/distributors/wrapper-command.ts).
 */
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: {
    wrapper: path.join(root, 'src', 'worker-node', 'main.ts'),
    executor: path.join(root, 'src', 'worker-node', 'executor.ts'),
  },
  outdir: path.join(root, 'dist', 'worker-node'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});
