/**
 * Service routes: /health, /openapi.json and /docs, and JSON 404s for unknown routes.
 */
import { describe, expect, it } from 'vitest';
import { localAuth, parseTokens } from '../../src/api/auth';
import { call, makeApp, setupApiTest, TOKENS, type Json } from './harness';

setupApiTest();

describe('service routes', () => {
  it('GET /health pings the database and reports the auth mode', async () => {
    const local = await call(makeApp(localAuth('alice')), 'GET', '/health');
    expect(local.status).toBe(200);
    expect(local.body).toMatchObject({ status: 'ok', database: 'ok', auth: 'local-single-user' });
    // No token needed: load balancers probe it.
    const secured = await call(makeApp({ mode: 'tokens', tokens: parseTokens(TOKENS) }), 'GET', '/health');
    expect(secured.status).toBe(200);
    expect(secured.body.auth).toBe('tokens');
  });

  it('GET /openapi.json describes every route of the contract', async () => {
    const { status, body } = await call(makeApp(localAuth('alice')), 'GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(body.info.title).toMatch(/Jobmon/);
    const expected: [string, string][] = [
      ['post', '/api/v1/bind/drafts'],
      ['post', '/api/v1/bind/drafts/{draft_id}/tasks'],
      ['post', '/api/v1/bind/drafts/{draft_id}/commit'],
      ['post', '/api/v1/bind'],
      ['post', '/api/v1/workflows/{id}/runs'],
      ['post', '/api/v1/workflows/{id}/pause'],
      ['post', '/api/v1/workflows/{id}/unpause'],
      ['post', '/api/v1/workflows/{id}/stop'],
      ['put', '/api/v1/workflows/{id}/concurrency'],
      ['get', '/api/v1/workflows'],
      ['get', '/api/v1/workflows/{id}/status'],
      ['get', '/api/v1/workflows/{id}/tasks'],
      ['get', '/api/v1/tasks/{id}'],
      ['get', '/api/v1/workflows/{id}/errors'],
      ['post', '/api/v1/task-instances/{id}/running'],
      ['post', '/api/v1/task-instances/{id}/heartbeat'],
      ['post', '/api/v1/task-instances/{id}/done'],
      ['post', '/api/v1/task-instances/{id}/error'],
      ['get', '/api/v1/workflows/{id}/grants'],
      ['post', '/api/v1/workflows/{id}/grants'],
      ['delete', '/api/v1/workflows/{id}/grants/{user}'],
      ['get', '/health'],
    ];
    for (const [method, p] of expected) expect(body.paths[p]?.[method], `${method} ${p}`).toBeDefined();
    expect(body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('every operation publishes a schema for each of its success answers', async () => {
    const { body } = await call(makeApp(localAuth('alice')), 'GET', '/openapi.json');
    const operations = Object.entries<Json>(body.paths).flatMap(([p, ops]) =>
      Object.entries<Json>(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${p}`, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(44);
    const blind = operations
      .filter(({ op }) =>
        Object.entries<Json>(op.responses)
          .filter(([status]) => status.startsWith('2'))
          .some(([, r]) => !Object.values<Json>(r.content ?? {}).some((c) => Object.keys(c.schema ?? {}).length > 0)),
      )
      .map(({ name }) => name);
    expect(blind).toEqual([]);
    // Status letters say what they mean.
    expect(JSON.stringify(body.components.schemas.WorkflowStatus)).toContain('D = DONE');
  });

  it('GET /docs links the document; unknown routes are JSON 404s', async () => {
    const app = makeApp(localAuth('alice'));
    const docs = await app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/openapi.json');
    const missing = await call(app, 'GET', '/api/v1/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });
});
