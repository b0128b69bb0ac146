/**
 * The contract checked on the server's own answers: every JSON response is parsed with the response
 * schema its route publishes at /openapi.json, and must also carry no field the schema leaves out
 * (zod strips unknown keys silently, so the parsed value is compared with what was sent). Turned on
 * by config.checkResponses, which the tests set, so a route that answers something its schema does
 * not describe fails the test that called it. Off in production: it costs a parse per answer.
 */
import type { OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './deps';

interface CheckedRoute {
  method: string;
  pattern: RegExp;
  path: string;
  /** Response schema by status code (JSON answers only). */
  schemas: Map<number, z.ZodType | undefined>;
}

/** What to check, read from the app's OpenAPI registry on first use (after every route is mounted). */
function routesOf(app: OpenAPIHono<AppEnv>): CheckedRoute[] {
  const routes: CheckedRoute[] = [];
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== 'route') continue;
    const { method, path, responses } = def.route;
    const schemas = new Map<number, z.ZodType | undefined>();
    for (const [status, response] of Object.entries(responses ?? {})) {
      const content = (response as { content?: Record<string, { schema?: unknown }> }).content;
      schemas.set(Number(status), content?.['application/json']?.schema as z.ZodType | undefined);
    }
    const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    routes.push({ method: method.toUpperCase(), pattern, path, schemas });
  }
  return routes;
}

/** The first place where `sent` has a key that `described` (the schema's parse of it) lacks. */
export function undescribedField(sent: unknown, described: unknown, at = '$'): string | undefined {
  if (Array.isArray(sent) && Array.isArray(described)) {
    for (let i = 0; i < sent.length; i++) {
      const found = undescribedField(sent[i], described[i], `${at}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (sent && typeof sent === 'object' && described && typeof described === 'object') {
    for (const [key, value] of Object.entries(sent)) {
      if (value === undefined) continue;
      if (!(key in described)) return `${at}.${key}`;
      const found = undescribedField(value, (described as Record<string, unknown>)[key], `${at}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

export function responseCheck(app: OpenAPIHono<AppEnv>): MiddlewareHandler<AppEnv> {
  let routes: CheckedRoute[] | undefined;
  return async (c, next) => {
    await next();
    // 500s are bugs already on their way to a failing test; non-JSON answers (CSV, YAML, the GUI) have no JSON schema.
    if (c.res.status >= 500 && c.res.status !== 503) return;
    if (!(c.res.headers.get('content-type') ?? '').includes('application/json')) return;
    routes ??= routesOf(app);
    const route = routes.find((r) => r.method === c.req.method && r.pattern.test(c.req.path));
    if (!route) return; // unknown route: the JSON 404 of app.notFound
    const where = `${c.req.method} ${route.path} → ${c.res.status}`;
    let problem: string | undefined;
    if (!route.schemas.has(c.res.status)) problem = `${where}: the route declares no ${c.res.status} answer`;
    else {
      const schema = route.schemas.get(c.res.status);
      if (!schema) problem = `${where}: the route publishes no JSON schema for this answer`;
      else {
        const sent: unknown = await c.res.clone().json();
        const parsed = schema.safeParse(sent);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          problem = `${where}: $.${issue.path.join('.')} ${issue.message}`;
        } else {
          const extra = undescribedField(sent, parsed.data);
          if (extra) problem = `${where}: ${extra} is not described by the response schema`;
        }
      }
    }
    if (!problem) return;
    process.stderr.write(`response check: ${problem}\n`);
    c.res = new Response(JSON.stringify({ error: { code: 'response_mismatch', message: problem } }), {
      status: 500,
      headers: { 'content-type': 'application/json' },
    });
  };
}
