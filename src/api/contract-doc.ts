/**
 * docs/api-contract.md, generated from the OpenAPI document the API serves (/openapi.json), so the
 * route reference cannot drift from the routes: every path and method, its summary, parameters,
 * body and answer fields. The prose a schema cannot carry (binding semantics, identity, controls)
 * lives in docs/api-contract-notes.md and is appended verbatim. test/api-contract-doc.test.ts fails
 * when the checked-in file differs from what this renders.
 *
 *   npm run docs:api          # rewrite docs/api-contract.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  prefixItems?: Schema[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: Schema | boolean;
  description?: string;
  default?: unknown;
};
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  description?: string;
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDocument {
  info?: { title?: string; version?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const MAX_DEPTH = 3;

/** A JSON schema as a one-line TypeScript-like type: `{ id: integer, name?: string }`. */
export function typeOf(schema: Schema | undefined, doc: OpenApiDocument, depth = 0): string {
  if (!schema) return 'unknown';
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop() as string;
    const target = doc.components?.schemas?.[name];
    return depth >= MAX_DEPTH || !target ? name : typeOf(target, doc, depth);
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const parts = [...new Set(union.map((s) => typeOf(s, doc, depth)))];
    return parts.join(' | ');
  }
  if (schema.allOf) return schema.allOf.map((s) => typeOf(s, doc, depth)).join(' & ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const nullable = types.includes('null') ? ' | null' : '';
  const main = types.find((t) => t !== 'null');
  if (main === 'array') {
    if (schema.prefixItems)
      return `[${schema.prefixItems.map((s) => typeOf(s, doc, depth + 1)).join(', ')}]${nullable}`;
    return `${wrap(typeOf(schema.items, doc, depth + 1))}[]${nullable}`;
  }
  if (main === 'object' || schema.properties) {
    if (schema.properties && Object.keys(schema.properties).length > 0) {
      if (depth >= MAX_DEPTH) return `{ … }${nullable}`;
      const required = new Set(schema.required ?? []);
      const fields = Object.entries(schema.properties).map(
        ([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${typeOf(v, doc, depth + 1)}`,
      );
      return `{ ${fields.join(', ')} }${nullable}`;
    }
    const extra = schema.additionalProperties;
    if (extra && typeof extra === 'object') return `{ [key]: ${typeOf(extra, doc, depth + 1)} }${nullable}`;
    return `object${nullable}`;
  }
  return `${main ?? 'unknown'}${nullable}`;
}

const wrap = (t: string) => (t.includes(' | ') ? `(${t})` : t);
const code = (t: string) => `\`${t.replace(/`/g, "'")}\``;

function fieldLines(schema: Schema | undefined, doc: OpenApiDocument): string[] {
  let s = schema;
  if (s?.$ref) s = doc.components?.schemas?.[s.$ref.split('/').pop() as string];
  if (!s?.properties) {
    const t = typeOf(s, doc);
    return t === 'unknown' || t === 'object'
      ? ['  - JSON whose schema is not in the OpenAPI document yet (docs/observers.md describes it)']
      : [`  - ${code(t)}`];
  }
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties).map(([k, v]) => {
    const note = v.description ? ` — ${oneLine(v.description)}` : '';
    return `  - ${code(k)}${required.has(k) ? '' : ' (optional)'}: ${code(typeOf(v, doc, 1))}${note}`;
  });
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

function operationSection(method: string, route: string, op: Operation, doc: OpenApiDocument): string[] {
  const lines = [`### \`${method.toUpperCase()} ${route.replace(/\{(\w+)\}/g, ':$1')}\``, ''];
  if (op.summary) lines.push(oneLine(op.summary), '');
  if (op.description) lines.push(oneLine(op.description), '');
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const query = params.filter((p) => p.in === 'query');
  if (pathParams.length)
    lines.push(`- path: ${pathParams.map((p) => `${code(p.name)} ${code(typeOf(p.schema, doc))}`).join(', ')}`);
  if (query.length) {
    lines.push('- query:');
    for (const p of query) {
      const def = p.schema?.default !== undefined ? ` (default ${JSON.stringify(p.schema.default)})` : '';
      const note = p.description ?? p.schema?.description;
      lines.push(
        `  - ${code(p.name)}${p.required ? '' : def ? '' : ' (optional)'}: ${code(typeOf(p.schema, doc))}${def}${note ? ` — ${oneLine(note)}` : ''}`,
      );
    }
  }
  const body = op.requestBody?.content?.['application/json']?.schema;
  if (body) lines.push('- body:', ...fieldLines(body, doc));
  const answers = Object.entries(op.responses ?? {}).filter(([status]) => /^2/.test(status));
  for (const [status, res] of answers) {
    const schema = res.content?.['application/json']?.schema;
    lines.push(`- answer ${status}${res.description ? ` (${oneLine(res.description)})` : ''}:`);
    lines.push(...(schema ? fieldLines(schema, doc) : ['  - no body']));
  }
  const errors = Object.keys(op.responses ?? {}).filter((s) => /^[45]/.test(s));
  if (errors.length) lines.push(`- errors: ${errors.join(', ')} as \`{ error: { code, message, field? } }\``);
  lines.push('');
  return lines;
}

/** The whole document: a header, one section per tag with every route, then the notes. */
export function renderContract(doc: OpenApiDocument, notes: string): string {
  const byTag = new Map<string, string[]>();
  const routes = Object.keys(doc.paths).sort();
  let count = 0;
  for (const route of routes) {
    for (const method of METHODS) {
      const op = doc.paths[route][method];
      if (!op) continue;
      count++;
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(...operationSection(method, route, op, doc));
    }
  }
  const out = [
    '# HTTP API contract (v1)',
    '',
    '<!-- Generated from /openapi.json by src/api/contract-doc.ts (npm run docs:api); do not edit.',
    '     Prose that a schema cannot carry goes into docs/api-contract-notes.md, appended below. -->',
    '',
    `${doc.info?.title ?? 'API'} ${doc.info?.version ?? ''}: ${count} operations. JSON in and out; every error is`,
    '`{ "error": { "code", "message", "field"? } }` (422 names the invalid `field`, 404 an unknown id, 409 a',
    'conflict, 401/403 auth, 413 too large). Auth: `Authorization: Bearer <token>` (README, "Auth"). Types below',
    'are written TypeScript-style from the JSON schemas; `?` marks an optional field.',
    '',
    '## Contents',
    '',
    ...[...byTag.keys()].sort().map((t) => `- [${t}](#${t.replace(/[^a-z0-9-]/gi, '-').toLowerCase()})`),
    '- [Semantics](#semantics)',
    '',
  ];
  for (const tag of [...byTag.keys()].sort()) out.push(`## ${tag}`, '', ...byTag.get(tag)!);
  out.push('## Semantics', '', notes.trim(), '');
  return out.join('\n');
}

/** Render from the app's own OpenAPI document (no database needed to describe the routes). */
export async function contractFromApp(notesPath: string): Promise<string> {
  const { createApp } = await import('./app');
  const { loadConfig } = await import('../config');
  const { createDb } = await import('../sql/db');
  const { localAuth } = await import('./auth');
  const config = loadConfig({ user: 'docs' }, {});
  const db = createDb('postgres://docs@127.0.0.1:1/none', 1);
  try {
    const app = createApp({ db, config, auth: localAuth('docs'), temporal: () => Promise.reject(new Error('docs')) });
    const res = await app.request('/openapi.json');
    const doc = (await res.json()) as OpenApiDocument;
    return renderContract(doc, readFileSync(notesPath, 'utf8'));
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  // dist/src/api → the repository root is three levels up; the same from src/api via tsx.
  const root = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
  const docs = path.join(root, 'docs');
  contractFromApp(path.join(docs, 'api-contract-notes.md'))
    .then((text) => {
      writeFileSync(path.join(docs, 'api-contract.md'), text);
      process.stdout.write(`wrote docs/api-contract.md (${text.length} bytes)\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    });
}
