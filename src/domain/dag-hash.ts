/**
 * The workflow's identity hashes (identity.ts `workflowTaskHash`, `dagHash`) from numbers rather
 * than strings, for the streamed bind's commit (sql/bind-dag.ts): the task hashes arrive once, in
 * sorted order, and each task gets its rank; an edge is then the pair of its tasks' ranks, so the
 * edges sort as numbers in a typed array and only their hash input is written out as text.
 *
 * Why: sorting 190,000 `up>down` strings of 129 bytes in Postgres and streaming them back was
 * half a second of a 100,000-task commit (and ten times that at a million); ranks sort in tens of
 * milliseconds and the bytes hashed are the same, so the hashes are the ones a whole-request bind
 * computes (test/domain/dag-hash.test.ts checks them against identity.ts).
 *
 * Order: task hashes are lower-case hex of one length, so their byte order (Postgres' `collate
 * "C"`) is the UTF-16 order `sort()` uses, and ordering "up>down" lines is ordering by (rank of
 * up, rank of down).
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Bytes of one task hash: sha256 as hex. */
export const HASH_HEX_BYTES = 64;
/** Lines hashed between two turns of the event loop: ~6 MB of input, a few milliseconds. */
const LINES_PER_TURN = 50_000;
const NEWLINE = 0x0a;
const ARROW = 0x3e; // '>'

/** A growable list of 32-bit integers: a million edges in 4 MB rather than a million JS numbers. */
export class IntList {
  #items: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.#items = new Int32Array(Math.max(1, capacity));
  }

  push(value: number): void {
    if (this.length === this.#items.length) {
      const grown = new Int32Array(this.#items.length * 2);
      grown.set(this.#items);
      this.#items = grown;
    }
    this.#items[this.length++] = value;
  }

  /** The items, without copying (valid until the next push). */
  view(): Int32Array {
    return this.#items.subarray(0, this.length);
  }
}

/**
 * Task hashes fed in sorted order, with the index of the task each belongs to. Equal hashes share
 * a rank (dense ranking), as equal strings sort together; `workflowTaskHash` is computed as they
 * arrive, and the distinct hashes are kept (64 bytes each) to write the edge lines later.
 */
export class SortedTaskHashes {
  readonly rankOf: Int32Array;
  #distinct: Buffer;
  #numDistinct = 0;
  #seen = 0;
  readonly #taskHash = createHash('sha256');

  constructor(numTasks: number) {
    this.rankOf = new Int32Array(numTasks).fill(-1);
    this.#distinct = Buffer.alloc(numTasks * HASH_HEX_BYTES);
  }

  /** `hex` is one task hash's bytes (copied); calls come in byte order of `hex`. */
  add(taskIndex: number, hex: Uint8Array): void {
    if (hex.length !== HASH_HEX_BYTES) throw new Error(`a task hash of ${hex.length} bytes`);
    if (taskIndex < 0 || taskIndex >= this.rankOf.length || this.rankOf[taskIndex] !== -1)
      throw new Error(`task ${taskIndex} given a hash twice or out of range`);
    if (this.#seen > 0) this.#taskHash.update('\n');
    this.#taskHash.update(hex);
    const last = (this.#numDistinct - 1) * HASH_HEX_BYTES;
    if (this.#numDistinct === 0 || Buffer.compare(this.#distinct.subarray(last, last + HASH_HEX_BYTES), hex) !== 0) {
      if (this.#numDistinct > 0 && Buffer.compare(this.#distinct.subarray(last, last + HASH_HEX_BYTES), hex) > 0)
        throw new Error('task hashes out of order');
      this.#distinct.set(hex, this.#numDistinct * HASH_HEX_BYTES);
      this.#numDistinct++;
    }
    this.rankOf[taskIndex] = this.#numDistinct - 1;
    this.#seen++;
  }

  /** `workflowTaskHash` of every hash added; every task must have one. */
  workflowTaskHash(): string {
    if (this.#seen !== this.rankOf.length) throw new Error(`${this.#seen} task hashes for ${this.rankOf.length} tasks`);
    return this.#taskHash.digest('hex');
  }

  /**
   * `dagHash` of the edges `ups[e] → downs[e]` (task indexes): sorted by rank pair as numbers,
   * hashed as `up>down` lines in batches, yielding to the event loop between batches so a million
   * edges never hold up a heartbeat.
   */
  async dagHash(ups: Int32Array, downs: Int32Array): Promise<string> {
    if (ups.length !== downs.length) throw new Error('edge lists of different lengths');
    const n = this.#numDistinct;
    // rank(up) * n + rank(down) is below 2^53 for any n below 2^26 tasks: exact in a double.
    const keys = new Float64Array(ups.length);
    for (let e = 0; e < ups.length; e++) keys[e] = this.rankOf[ups[e]] * n + this.rankOf[downs[e]];
    keys.sort();
    const hash = createHash('sha256');
    const lineBytes = 2 * HASH_HEX_BYTES + 2;
    const batch = Buffer.alloc(Math.min(keys.length, LINES_PER_TURN) * lineBytes);
    for (let from = 0; from < keys.length; from += LINES_PER_TURN) {
      if (from > 0) await nextTurn();
      const to = Math.min(keys.length, from + LINES_PER_TURN);
      let at = 0;
      for (let e = from; e < to; e++) {
        const key = keys[e];
        const up = Math.floor(key / n);
        this.#distinct.copy(batch, at, up * HASH_HEX_BYTES, (up + 1) * HASH_HEX_BYTES);
        batch[at + HASH_HEX_BYTES] = ARROW;
        const down = key - up * n;
        this.#distinct.copy(batch, at + HASH_HEX_BYTES + 1, down * HASH_HEX_BYTES, (down + 1) * HASH_HEX_BYTES);
        batch[at + lineBytes - 1] = NEWLINE;
        at += lineBytes;
      }
      // Lines are joined by newlines, with none after the last (as `sorted.join('\n')`).
      hash.update(batch.subarray(0, to === keys.length ? at - 1 : at));
    }
    return hash.digest('hex');
  }
}
