import { describe, expect, it } from 'vitest';
import { indexedHexRows, intRows } from '../../src/sql/copy-out';

/** Feed `text` to a COPY row parser split at `cut`, as two chunks arriving from the socket. */
function feedSplit(parse: (b: Buffer) => void, text: string, cut: number): void {
  const bytes = Buffer.from(text, 'latin1');
  parse(bytes.subarray(0, cut));
  parse(bytes.subarray(cut));
}

describe('COPY row parsers', () => {
  const hexes = ['0a1b2c3d', 'ffffffff', '00000000'];
  const text = hexes.map((h, i) => `${i * 1234}\t${h}\n`).join('');

  it('indexedHexRows reads every row whatever byte a chunk ends at', () => {
    for (let cut = 0; cut <= text.length; cut++) {
      const rows: [number, string][] = [];
      feedSplit(
        indexedHexRows(8, (idx, hex) => rows.push([idx, Buffer.from(hex).toString('latin1')])),
        text,
        cut,
      );
      expect(rows, `cut at ${cut}`).toEqual(hexes.map((h, i) => [i * 1234, h]));
    }
  });

  it('indexedHexRows refuses a row of the wrong width', () => {
    expect(() => indexedHexRows(8, () => {})(Buffer.from('1\t0a1b2c3d4\n'))).toThrow(/longer/);
    expect(() => indexedHexRows(8, () => {})(Buffer.from('x\t0a1b2c3d\n'))).toThrow(/unexpected byte/);
  });

  it('intRows reads negative numbers and rows split anywhere', () => {
    const ints = '12\t-1\t3\n0\t7\t-45\n';
    for (let cut = 0; cut <= ints.length; cut++) {
      const rows: number[][] = [];
      feedSplit(
        intRows(3, (f) => rows.push(Array.from(f))),
        ints,
        cut,
      );
      expect(rows, `cut at ${cut}`).toEqual([
        [12, -1, 3],
        [0, 7, -45],
      ]);
    }
  });
});
