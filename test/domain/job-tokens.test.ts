import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { looksLikeJobToken, mintJobToken, verifyJobToken } from '../../src/domain/job-tokens';

describe('job tokens', () => {
  const key = randomBytes(32);

  it('verify to the batch they were minted for, and are the same every time (derived, not stored)', () => {
    const token = mintJobToken(key, 42);
    expect(token).toMatch(/^jmtjob1\.42\.[A-Za-z0-9_-]{43}$/);
    expect(looksLikeJobToken(token)).toBe(true);
    expect(verifyJobToken(key, token)).toBe(42);
    expect(mintJobToken(key, 42)).toBe(token);
  });

  it('refuse another key, another batch number, and malformed tokens', () => {
    const token = mintJobToken(key, 42);
    expect(verifyJobToken(randomBytes(32), token)).toBeUndefined();
    expect(verifyJobToken(key, token.replace('.42.', '.43.'))).toBeUndefined();
    for (const bad of [
      '',
      'jmtjob1',
      'jmtjob1.42',
      'jmtjob1.0.x',
      'jmtjob1.-1.abc',
      `${token}x`,
      `jmtjob1.42.${'A'.repeat(43)}`,
    ]) {
      expect(verifyJobToken(key, bad)).toBeUndefined();
    }
    expect(() => mintJobToken(key, 0)).toThrow(/positive/);
  });
});
