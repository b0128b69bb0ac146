/**
 * OIDC/JWT bearer tokens against a JWKS this test serves on loopback with its own key pair: a
 * valid token acts as its user and role; expired, wrong audience, wrong issuer, wrong key, no role
 * and no user are refused 401/403 with a message naming the reason; JMT_TOKENS keep working.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../../src/api/auth';
import { bindRequest, startTokenApp, TOKENS_SPEC, type TokenApp } from '../helpers/token-app';

const ISSUER = 'https://login.example.org/realms/hpc';
const AUDIENCE = 'jobmon-api';
let t: TokenApp;
let jwks: http.Server;
let key: KeyLike;
let otherKey: KeyLike;
let requests = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const port = (jwks.address() as AddressInfo).port;
  const auth = loadAuthConfig('nobody', {
    JMT_TOKENS: TOKENS_SPEC,
    JMT_OIDC_ISSUER: ISSUER,
    JMT_OIDC_AUDIENCE: AUDIENCE,
    JMT_OIDC_JWKS_URL: `http://127.0.0.1:${port}/certs`,
  });
  t = await startTokenApp({ auth });
});
afterAll(async () => {
  await t?.close();
  await new Promise<void>((resolve) => (jwks ? jwks.close(() => resolve()) : resolve()));
});

interface Claims {
  user?: string;
  role?: unknown;
  aud?: string;
  iss?: string;
  expiresIn?: string | number;
  signWith?: KeyLike;
}
function token(c: Claims = {}): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (c.user !== '') claims.preferred_username = c.user ?? 'carol';
  if (c.role !== undefined) claims.jmt_role = c.role;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(c.iss ?? ISSUER)
    .setAudience(c.aud ?? AUDIENCE)
    .setSubject('carol-sub')
    .setIssuedAt()
    .setExpirationTime(c.expiresIn ?? '10m')
    .sign(c.signWith ?? key);
}

const whoami = async (bearer: string) => t.call('GET', '/api/v1/whoami', { as: bearer });

describe('OIDC bearer tokens', () => {
  it('a valid token acts as its user and role; the workflow belongs to that user', async () => {
    const jwt = await token({ role: 'operator' });
    const bound = await t.call('POST', '/api/v1/bind', { body: bindRequest('oidc-carol'), as: jwt });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    const row = await t.db
      .selectFrom('workflow')
      .select('user')
      .where('id', '=', bound.body.workflow_id)
      .executeTakeFirstOrThrow();
    expect(row.user).toBe('carol');
    // A list of roles: the most powerful known one counts.
    const admin = await whoami(await token({ role: ['offline_access', 'operator', 'admin'] }));
    expect(admin.body).toMatchObject({ user: 'carol', role: 'admin' });
    expect(requests).toBeGreaterThan(0);
  });

  it('expired: 401 token_expired', async () => {
    const answer = await whoami(await token({ role: 'operator', expiresIn: Math.floor(Date.now() / 1000) - 3600 }));
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatchObject({ code: 'token_expired', field: 'authorization' });
    expect(answer.body.error.message).toMatch(/expired/);
  });

  it('wrong audience or issuer: 401 naming the expected one', async () => {
    const aud = await whoami(await token({ role: 'operator', aud: 'another-app' }));
    expect(aud.status).toBe(401);
    expect(aud.body.error.message).toMatch(/audience must be jobmon-api/);
    const iss = await whoami(await token({ role: 'operator', iss: 'https://evil.example.com' }));
    expect(iss.status).toBe(401);
    expect(iss.body.error.message).toMatch(/not issued by https:\/\/login\.example\.org/);
  });

  it("signed with another key: 401, the signature does not verify against the issuer's keys", async () => {
    const answer = await whoami(await token({ role: 'admin', signWith: otherKey }));
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('token_invalid');
    expect(answer.body.error.message).toMatch(/signature does not verify/);
  });

  it('no role, an unknown role or no user: 403 saying which claim to set', async () => {
    for (const role of [undefined, 'superuser', []]) {
      const answer = await whoami(await token({ role }));
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('no_role');
      expect(answer.body.error.message).toMatch(/claim "jmt_role"/);
    }
    const noUser = await whoami(await token({ user: '', role: 'operator' }));
    expect(noUser.status).toBe(403);
    expect(noUser.body.error.code).toBe('no_user');
  });

  it('an observer token reads but may not write; JMT_TOKENS keep working beside OIDC', async () => {
    const observer = await token({ role: 'observer' });
    expect((await t.call('GET', '/api/v1/workflows', { as: observer })).status).toBe(200);
    expect((await t.call('POST', '/api/v1/bind', { body: bindRequest('oidc-observer'), as: observer })).status).toBe(
      403,
    );
    expect((await whoami('alice-token-1')).body).toMatchObject({ user: 'alice', role: 'operator' });
    expect((await whoami('not.a.jwt')).status).toBe(401);
  });

  it('a half-configured OIDC is a start-up error naming what is missing', () => {
    expect(() => loadAuthConfig('x', { JMT_OIDC_ISSUER: ISSUER })).toThrow(/JMT_OIDC_AUDIENCE and JMT_OIDC_JWKS_URL/);
  });
});
