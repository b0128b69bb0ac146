/**
 * Status arguments shared by the `jmt workflow` commands: the task buckets of the status tables and
 * the parsing of `--status` lists.
 */
import type { TaskBucket } from '../../domain/statuses';
import { CliUsageError } from '../errors';

export const BUCKETS: readonly TaskBucket[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'DONE', 'FATAL'];

/**
 * Statuses typed as letters (`R,F`), labels (`RUNNING`) or extra names (task buckets), checked here
 * so a typo is an exit-2 line naming the choices instead of an empty table.
 */
export function parseStatuses(
  text: string,
  labels: Record<string, string>,
  extra: Record<string, string>,
  what: string,
): string {
  const byLabel = Object.fromEntries(Object.entries(labels).map(([letter, label]) => [label, letter]));
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const token = raw.trim();
    if (token === '') continue;
    const upper = token.toUpperCase();
    const value =
      token in labels
        ? token
        : (extra[upper] ?? byLabel[upper] ?? (upper in labels && token.length === 1 ? upper : undefined));
    if (value === undefined) {
      const choices = [...Object.keys(labels), ...Object.keys(extra)].join(', ');
      throw new CliUsageError(`unknown ${what} ${JSON.stringify(token)}; choose from ${choices} (or their labels)`);
    }
    if (!out.includes(value)) out.push(value);
  }
  if (out.length === 0) throw new CliUsageError(`--status needs at least one ${what}`);
  return out.join(',');
}
