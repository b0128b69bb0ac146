/**
 * `COPY (query) TO STDOUT` as a stream of bytes (pg-copy-streams): how commit reads a draft's
 * million rows in sorted order, for hashing or for the cycle check, without holding them — the
 * bytes are handed on as they arrive and pg's backpressure keeps at most a few of them in memory.
 * The query text is inlined by the caller (COPY takes no parameters): only ids it has checked.
 */
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import { poolOf, type Db } from './db';

export async function copyOut(
  db: Db,
  query: string,
  onBytes: (bytes: Buffer) => void,
  settings: readonly string[] = [],
): Promise<void> {
  const client = await poolOf(db).connect();
  let failed: unknown;
  try {
    await client.query('begin read only');
    // `set local`: settings (e.g. a larger work_mem for the sort) end with this transaction.
    for (const s of settings) await client.query(`set local ${s}`);
    const source = client.query(copyTo(`copy (${query}) to stdout`));
    await pipeline(
      source,
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          try {
            onBytes(chunk);
            done();
          } catch (err) {
            done(err as Error);
          }
        },
      }),
    );
    await client.query('commit');
  } catch (err) {
    failed = err;
    throw err;
  } finally {
    // A client whose COPY failed midway may be in any protocol state: drop it rather than reuse it.
    client.release(failed instanceof Error ? failed : undefined);
  }
}

/**
 * Split COPY's text rows of whole numbers ("12\t7\n") into fields as they stream, across chunk
 * boundaries, without building strings. `onRow` gets the fields of each row (reused array).
 */
export function intRows(width: number, onRow: (fields: Int32Array) => void): (bytes: Buffer) => void {
  const fields = new Int32Array(width);
  let field = 0;
  let value = 0;
  let negative = false;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b >= 0x30 && b <= 0x39) value = value * 10 + (b - 0x30);
      else if (b === 0x2d) negative = true;
      else if (b === 0x09 || b === 0x0a) {
        fields[field++] = negative ? -value : value;
        value = 0;
        negative = false;
        if (b === 0x0a) {
          onRow(fields);
          field = 0;
        }
      }
    }
  };
}

/**
 * Split COPY's text rows of a whole number and a fixed-width hex string ("12\t9f…\n") as they
 * stream, across chunk boundaries. `onRow` gets the number and the string's bytes: a view of the
 * chunk when the row lies within it, else a reused buffer, so copy what is kept.
 */
export function indexedHexRows(
  hexBytes: number,
  onRow: (index: number, hex: Uint8Array) => void,
): (bytes: Buffer) => void {
  const held = Buffer.alloc(hexBytes);
  let index = 0;
  let inHex = false;
  let heldLength = 0;
  return (bytes) => {
    let i = 0;
    while (i < bytes.length) {
      if (!inHex) {
        const b = bytes[i++];
        if (b >= 0x30 && b <= 0x39) index = index * 10 + (b - 0x30);
        else if (b === 0x09) inHex = true;
        else throw new Error(`unexpected byte ${b} in a COPY row's number`);
        continue;
      }
      const want = hexBytes - heldLength;
      if (heldLength === 0 && i + hexBytes < bytes.length) {
        if (bytes[i + hexBytes] !== 0x0a) throw new Error('a COPY row longer than expected');
        onRow(index, bytes.subarray(i, i + hexBytes));
        i += hexBytes + 1;
      } else if (want > 0) {
        const take = Math.min(want, bytes.length - i);
        bytes.copy(held, heldLength, i, i + take);
        heldLength += take;
        i += take;
        continue;
      } else {
        if (bytes[i++] !== 0x0a) throw new Error('a COPY row longer than expected');
        onRow(index, held);
      }
      index = 0;
      inHex = false;
      heldLength = 0;
    }
  };
}
