/**
 * Register Jobmon's search attributes on a Temporal server that was not started with them (a
 * production cluster, a shared dev server at TEMPORAL_ADDRESS). Idempotent: attributes already
 * present with the right type are left alone; one present with another type is an error, because
 * upserting it from the workflow would fail at run time instead.
 */
import { temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS, type CliSearchAttributeType } from './search-attributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

const PROTO_TYPE: Record<CliSearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

export interface RegisterResult {
  added: string[];
  present: string[];
}

export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<RegisterResult> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = existing.customAttributes ?? {};
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  const present: string[] = [];
  for (const { name, type } of SEARCH_ATTRIBUTE_DEFINITIONS) {
    const have = custom[name];
    if (have === undefined) {
      missing[name] = PROTO_TYPE[type];
    } else if (have !== PROTO_TYPE[type]) {
      throw new Error(
        `search attribute ${name} exists in namespace ${namespace} as ${IndexedValueType[have]}, expected ${type}`,
      );
    } else {
      present.push(name);
    }
  }
  const added = Object.keys(missing);
  if (added.length > 0) {
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    } catch (err) {
      // Another process registering at the same moment: re-check instead of failing.
      if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
      return registerSearchAttributes(connection, namespace);
    }
  }
  return { added, present };
}
