/**
 * docs/api-contract.md is generated from the API's own OpenAPI document (src/api/contract-doc.ts),
 * so it covers every route; this fails when a route or a schema changed and the file was not
 * regenerated (`npm run docs:api`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contractFromApp, typeOf, type OpenApiDocument } from '../src/api/contract-doc';

const DOCS = path.join(__dirname, '..', 'docs');

describe('docs/api-contract.md', () => {
  it('is what the OpenAPI document renders to (run `npm run docs:api` after changing a route)', async () => {
    const expected = await contractFromApp(path.join(DOCS, 'api-contract-notes.md'));
    const actual = readFileSync(path.join(DOCS, 'api-contract.md'), 'utf8');
    expect(actual === expected, 'docs/api-contract.md is out of date: run `npm run docs:api`').toBe(true);
    for (const route of ['/api/v1/clusters', '/api/v1/workflows/:id/progress', '/api/v1/task-instances/:id/logs'])
      expect(actual).toContain(route);
  });

  it('writes schemas as compact types', () => {
    const doc: OpenApiDocument = { paths: {}, components: { schemas: { Id: { type: 'integer' } } } };
    expect(
      typeOf(
        {
          type: 'object',
          required: ['id'],
          properties: {
            id: { $ref: '#/components/schemas/Id' },
            mode: { enum: ['hot', 'cold'] },
            keys: { type: ['array', 'null'], items: { type: 'string' } },
          },
        },
        doc,
      ),
    ).toBe('{ id: integer, mode?: "hot" | "cold", keys?: string[] | null }');
  });
});
