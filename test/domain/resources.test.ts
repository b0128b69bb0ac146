import { describe, expect, it } from 'vitest';
import {
  chooseQueue,
  coerceToQueue,
  normalizeResources,
  parseMemoryGiB,
  parseRuntimeSeconds,
  ResourceError,
  scaleResources,
  validateAgainstQueue,
} from '../../src/domain/resources';

describe('parsing', () => {
  it('reads memory in Jobmon’s spellings as GiB', () => {
    expect(parseMemoryGiB('8G')).toBe(8);
    expect(parseMemoryGiB('1Gb')).toBe(1);
    expect(parseMemoryGiB('512M')).toBe(0.5);
    expect(parseMemoryGiB(2)).toBe(2);
    expect(() => parseMemoryGiB('lots')).toThrow(ResourceError);
  });

  it('reads runtime as seconds', () => {
    expect(parseRuntimeSeconds('1h')).toBe(3600);
    expect(parseRuntimeSeconds('90m')).toBe(5400);
    expect(parseRuntimeSeconds('01:30:00')).toBe(5400);
    expect(parseRuntimeSeconds(10)).toBe(10);
    expect(() => parseRuntimeSeconds('-3')).toThrow(ResourceError);
  });

  it('requires a queue and names the bad field', () => {
    expect(() => normalizeResources({ cores: 1 })).toThrow(/queue/);
    try {
      normalizeResources({ queue: 'q', cores: 0 }, 'tasks[3].compute_resources');
      expect.unreachable();
    } catch (err) {
      expect((err as ResourceError).field).toBe('tasks[3].compute_resources.cores');
    }
  });
});

describe('resource retries', () => {
  it('scales by 1 + factor per attempt, or takes absolute values from a list', () => {
    const base = { queue: 'all.q', memory: 40, runtime: 100, cores: 2 };
    expect(scaleResources(base, { memory: 0.5, runtime: 0.5 }, 1)).toEqual({
      queue: 'all.q',
      memory: 60,
      runtime: 150,
      cores: 2,
    });
    expect(scaleResources(base, { memory: [50, 80] }, 1).memory).toBe(50);
    expect(scaleResources(base, { memory: [50, 80] }, 5).memory).toBe(80);
  });

  it('moves to the first fallback queue that fits, else clamps to the last', () => {
    const limits = {
      'all.q': { memory: [0, 64] as [number, number] },
      'long.q': { memory: [0, 256] as [number, number] },
    };
    const scaled = { queue: 'all.q', memory: 90 };
    expect(chooseQueue(scaled, ['long.q'], (q) => limits[q as keyof typeof limits])).toEqual({
      queue: 'long.q',
      memory: 90,
    });
    expect(chooseQueue({ queue: 'all.q', memory: 300 }, ['long.q'], (q) => limits[q as keyof typeof limits])).toEqual({
      queue: 'long.q',
      memory: 256,
    });
  });

  it('validates and coerces against a queue’s limits', () => {
    expect(validateAgainstQueue({ queue: 'q', cores: 30 }, { cores: [1, 20] })).toHaveLength(1);
    expect(coerceToQueue({ queue: 'q', cores: 30 }, { cores: [1, 20] }).cores).toBe(20);
  });
});
