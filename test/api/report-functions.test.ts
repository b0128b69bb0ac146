/**
 * The report functions of migration 0020 build log paths in SQL: they must be the paths Node's
 * path.join / path.resolve built in the running report before (src/sql/task-instance-reports.ts).
 */
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { db, setupApiTest } from './harness';

setupApiTest();

/** The running report's old path rule, in Node: the reference. */
function nodePath(logDir: string, workflowId: number, workingDir: string | null, d: string | null, file: string) {
  const dir = path.join(logDir, `workflow-${workflowId}`);
  const logDirOf = (x: string | null) => (x ? path.resolve(workingDir ?? dir, x) : dir);
  return path.join(logDirOf(d), file);
}

/** The same rule as jmt_report_running spells it (cwd = the API's, for a relative working dir). */
async function sqlPath(logDir: string, workflowId: number, workingDir: string | null, d: string | null, file: string) {
  const { rows } = await sql<{ p: string }>`
    with v as (select ${logDir}::text || '/workflow-' || ${workflowId}::int as dir)
    select jmt_path_normalize(
             case when ${d}::text is null then v.dir
                  when left(${d}::text, 1) = '/' then ${d}::text
                  else (case when left(coalesce(${workingDir}::text, v.dir), 1) = '/' then coalesce(${workingDir}::text, v.dir)
                             else ${process.cwd()}::text || '/' || coalesce(${workingDir}::text, v.dir) end)
                       || '/' || ${d}::text end
             || '/' || ${file}::text) as p
      from v`.execute(db);
  return rows[0].p;
}

describe('log paths built in SQL', () => {
  it('jmt_path_normalize equals path.posix.normalize on absolute paths', async () => {
    const segments = ['a', 'b c', '.', '..', '', 'ü', '...', '.hidden'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % segments.length;
    const inputs = ['/', '//', '/..', '/a/../..', '/a//b/./c/'];
    for (let i = 0; i < 300; i++) {
      const n = 1 + (i % 7);
      inputs.push('/' + Array.from({ length: n }, () => segments[next()]).join('/') + '/f.o1');
    }
    const { rows } = await sql<{ p: string; n: string }>`
      select p, jmt_path_normalize(p) as n from unnest(${inputs}::text[]) as p`.execute(db);
    for (const { p, n } of rows) {
      const expected = path.posix.normalize(p);
      // Node keeps a trailing slash; a log path always ends in its file name, so ours need not.
      expect(n, p).toBe(expected.length > 1 ? expected.replace(/\/$/, '') : expected);
    }
  });

  it('builds the same stdout/stderr paths as path.join / path.resolve', async () => {
    const cases: [string, number, string | null, string | null, string][] = [
      ['/var/jmt/logs', 7, null, null, 'task_1.o12'],
      ['/var/jmt/logs', 7, '/srv/models', 'logs/err', 'model_loc-1.e3'],
      ['/var/jmt/logs', 7, '/srv/models/', '../out/./x', 'a.o1'],
      ['/var/jmt/logs', 7, null, 'rel', 'a.o1'],
      ['/var/jmt/logs', 7, '/srv', '/abs//dir/', 'a.o1'],
      ['/var/jmt/logs', 7, 'relative-wd', 'o', 'a.o1'],
      ['/var/jmt/logs', 7, '/srv', null, 'sub/../name.o9'],
      ['/', 1, '/', '..', 'x.e1'],
    ];
    for (const c of cases) expect(await sqlPath(...c), c.join(' | ')).toBe(nodePath(...c));
  });
});
