import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendSnapshot, readSnapshot } from '../src/worker-node/state-file';

describe('append-only state files', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'jmt-state-file-'));
    file = path.join(dir, 'task.exec.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the last snapshot, and a missing file as nothing', () => {
    expect(readSnapshot(file)).toBeUndefined();
    appendSnapshot(file, { executorPid: 1 });
    appendSnapshot(file, { executorPid: 1, commandPid: 2 });
    expect(readSnapshot(file)).toEqual({ executorPid: 1, commandPid: 2 });
  });

  it('keeps one file: later snapshots free no inode (the reason it appends)', () => {
    appendSnapshot(file, { n: 1 });
    const inode = statSync(file).ino;
    appendSnapshot(file, { n: 2 });
    expect(statSync(file).ino).toBe(inode);
  });

  it('creates the file with the mode asked for', () => {
    appendSnapshot(file, { n: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('skips a snapshot still being written (no newline yet)', () => {
    appendSnapshot(file, { n: 1 });
    appendFileSync(file, '{"n":2,"comm');
    expect(readSnapshot(file)).toEqual({ n: 1 });
  });

  it('skips a snapshot cut short by a crash and returns the last whole one', () => {
    appendSnapshot(file, { n: 1 });
    appendFileSync(file, '{"n":2,"comm\n');
    expect(readSnapshot(file)).toEqual({ n: 1 });
  });

  it('reads a file an earlier version wrote whole (one value, no newline)', () => {
    writeFileSync(file, JSON.stringify({ executorPid: 7 }));
    expect(readSnapshot(file)).toEqual({ executorPid: 7 });
  });

  it('reads a first snapshot still being written as nothing', () => {
    writeFileSync(file, '{"executorPid":');
    expect(readSnapshot(file)).toBeUndefined();
  });
});
