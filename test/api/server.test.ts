/**
 * startApiServer on loopback (Content-Length limits, shutdown) and the lazy Temporal connection.
 */
import { describe, expect, it } from 'vitest';
import { localAuth } from '../../src/api/auth';
import { startApiServer } from '../../src/api/main';
import { lazyTemporalClient } from '../../src/api/temporal';
import { JobmonError } from '../../src/domain/errors';
import { freePort } from '../helpers/ports';
import { temporalAddress, temporalNamespace } from '../helpers/temporal';
import { config, db, setupApiTest, temporalDown, type Json } from './harness';

setupApiTest();

describe('real server', () => {
  it('serves on loopback, enforces Content-Length limits, and closes', async () => {
    const server = await startApiServer({
      db,
      temporal: temporalDown,
      config,
      auth: localAuth('alice'),
      host: '127.0.0.1',
      port: 0,
    });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      const big = await fetch(`${server.url}/api/v1/workflows/1/stop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'x'.repeat(2 * 1024 * 1024) }),
      });
      expect(big.status).toBe(413);
      expect(((await big.json()) as Json).error.code).toBe('too_large');
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});

describe('lazy Temporal connection', () => {
  it('reports temporal_unavailable for an unreachable address and connects to a live one', async () => {
    const port = await freePort();
    const dead = lazyTemporalClient(
      { temporalAddress: `127.0.0.1:${port}`, temporalNamespace: 'default' },
      { connectTimeoutMs: 500 },
    );
    const err = await dead.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobmonError);
    expect((err as JobmonError).toJSON().error.code).toBe('temporal_unavailable');
    expect((err as JobmonError).httpStatus).toBe(503);
    await dead.close();

    const live = lazyTemporalClient({ temporalAddress: temporalAddress(), temporalNamespace: temporalNamespace() });
    try {
      const client = await live.get();
      // One connection shared by every later request.
      expect(await live.get()).toBe(client);
    } finally {
      await live.close();
    }
  });
});
