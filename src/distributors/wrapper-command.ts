/**
 * How distributors start the worker-node wrapper. Kept beside the distributors, not in the
 * wrapper's folder, which holds Node built-ins only (it runs on compute nodes as one file) and
 * must not import the project's config.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config';

/**
 * `dist/worker-node/<name>.cjs`, the bundle of scripts/bundle-wrapper.mjs, when it is at least as
 * new as every file tsc wrote for the wrapper; else tsc's `dist/src/worker-node/<entry>.js`. A
 * bare `tsc -p .` after a change to the wrapper thus never leaves the distributors on an old bundle.
 */
export function wrapperScript(name: 'wrapper' | 'executor' = 'wrapper', root = projectRoot()): string {
  const tscDir = path.join(root, 'dist', 'src', 'worker-node');
  const fallback = path.join(tscDir, { wrapper: 'main.js', executor: 'executor.js' }[name]);
  const bundled = path.join(root, 'dist', 'worker-node', `${name}.cjs`);
  try {
    const bundledAt = statSync(bundled).mtimeMs;
    for (const file of readdirSync(tscDir)) {
      if (file.endsWith('.js') && statSync(path.join(tscDir, file)).mtimeMs > bundledAt) return fallback;
    }
    return bundled;
  } catch {
    return fallback;
  }
}

/** `[node, <wrapper script>]`; append the wrapper's arguments. */
export function wrapperCommand(): string[] {
  return [process.execPath, wrapperScript()];
}

/** `[node, <local executor script>]`; append `--dir <records dir>`. */
export function executorCommand(): string[] {
  return [process.execPath, wrapperScript('executor')];
}
