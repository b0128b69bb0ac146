/**
 * The web GUI (docs/observers.md): static files under /ui/, no build step. The pages are plain
 * ES modules using Preact + htm (≈ 5 KB together, both served from node_modules by this route),
 * so CI's clean clone → scripts/setup.sh → tsc needs nothing more, and there is no bundler to keep.
 * The files hold no data: every number comes from the API with the caller's token or share link,
 * so these routes need no auth. Only the files listed here are served (no path from the request
 * reaches the file system).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { projectRoot } from '../config';

const STATIC_DIR = path.join(projectRoot(), 'src', 'gui', 'static');

function vendorFile(moduleId: string, fromMain: string): string {
  return path.join(path.dirname(require.resolve(moduleId)), fromMain);
}

const FILES: Record<string, { file: () => string; type: string }> = {
  '/ui/': { file: () => path.join(STATIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: () => path.join(STATIC_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/charts.js': { file: () => path.join(STATIC_DIR, 'charts.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: () => path.join(STATIC_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/ui/vendor/preact.js': {
    file: () => vendorFile('preact', 'preact.module.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/ui/vendor/hooks.js': {
    file: () => vendorFile('preact/hooks', 'hooks.module.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/ui/vendor/htm.js': { file: () => vendorFile('htm', 'htm.module.js'), type: 'text/javascript; charset=utf-8' },
};

const HEADERS = {
  // Share tokens travel in the page URL: never send it on to the Temporal UI or anywhere else.
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  'cache-control': 'no-cache',
};

export function guiRoutes(): Hono {
  const app = new Hono();
  const cache = new Map<string, Buffer>();
  app.get('/ui', (c) => c.redirect(`/ui/${new URL(c.req.url).search}`, 302));
  app.get('/ui/*', (c) => {
    const entry = FILES[c.req.path];
    if (!entry) return c.json({ error: { code: 'not_found', message: `no GUI file ${c.req.path}` } }, 404);
    let body = cache.get(c.req.path);
    if (!body) {
      body = readFileSync(entry.file());
      // hooks imports the bare specifier "preact"; point it at our copy (no import map: CSP forbids inline scripts).
      if (c.req.path === '/ui/vendor/hooks.js')
        body = Buffer.from(body.toString('utf8').replace(/from\s*"preact"/g, 'from"./preact.js"'));
      // Re-read during development (JMT_GUI_DEV=1), cached otherwise.
      if (process.env.JMT_GUI_DEV !== '1') cache.set(c.req.path, body);
    }
    return c.body(new Uint8Array(body), 200, { ...HEADERS, 'content-type': entry.type });
  });
  return app;
}
