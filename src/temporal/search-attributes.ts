/**
 * Custom search attributes of Jobmon workflow runs. `temporal/search-attributes.json` is the single
 * list (the dev-server flags, the test setup and the docker-compose init container all read it);
 * this module gives workflow and client code typed keys for the same names.
 *
 * Budget: SQL visibility (the dev server's SQLite, Postgres in production) caps custom attributes
 * per namespace per type (Int 3, Keyword 10, ...), so the list stays small; values are at most 255
 * characters (VARCHAR(255) Keyword columns).
 *
 * Pure module (no I/O): workflow code may import it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
// Not re-exported from the package index in 1.24; the deep path is what @temporalio/testing uses too.
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import definitions from '../../temporal/search-attributes.json';

/** Type names as the `temporal` CLI spells them (`--search-attribute Name=Keyword`). */
export type CliSearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface SearchAttributeDefinition {
  name: string;
  type: CliSearchAttributeType;
}

const SDK_TYPE: Record<CliSearchAttributeType, SearchAttributeType> = {
  Text: SearchAttributeType.TEXT,
  Keyword: SearchAttributeType.KEYWORD,
  Int: SearchAttributeType.INT,
  Double: SearchAttributeType.DOUBLE,
  Bool: SearchAttributeType.BOOL,
  Datetime: SearchAttributeType.DATETIME,
  KeywordList: SearchAttributeType.KEYWORD_LIST,
};

/** The definitions from temporal/search-attributes.json, validated once at load. */
export const SEARCH_ATTRIBUTE_DEFINITIONS: readonly SearchAttributeDefinition[] = Object.freeze(
  (definitions as { name: string; type: string }[]).map((d) => {
    if (!(d.type in SDK_TYPE)) throw new Error(`search attribute ${d.name}: unknown type ${d.type}`);
    return Object.freeze({ name: d.name, type: d.type as CliSearchAttributeType });
  }),
);

function key<T extends SearchAttributeType>(name: string, type: T): SearchAttributeKey<T> {
  // Fail at import time if the JSON and this module drift apart, rather than at the first upsert.
  const def = SEARCH_ATTRIBUTE_DEFINITIONS.find((d) => d.name === name);
  if (!def || SDK_TYPE[def.type] !== type) {
    throw new Error(`search attribute ${name} (${type}) is not defined in temporal/search-attributes.json`);
  }
  return defineSearchAttributeKey(name, type);
}

/** Jobmon workflow id (the Postgres `workflow.id`) that this run belongs to. */
export const JOBMON_WORKFLOW_ID = key('JobmonWorkflowId', SearchAttributeType.INT);
/** User who started the run. */
export const JOBMON_USER = key('JobmonUser', SearchAttributeType.KEYWORD);
/** Tool name of the workflow. */
export const JOBMON_TOOL = key('JobmonTool', SearchAttributeType.KEYWORD);
/** Workflow name (truncated by callers to the 255-character Keyword limit). */
export const JOBMON_WORKFLOW_NAME = key('JobmonWorkflowName', SearchAttributeType.KEYWORD);
/** Jobmon workflow-run status letter, kept current by the workflow. */
export const JOBMON_RUN_STATUS = key('JobmonRunStatus', SearchAttributeType.KEYWORD);

/** Every key, for `DevServerConfig.searchAttributes` (test environments). */
export const SEARCH_ATTRIBUTE_KEYS: readonly SearchAttributeKey<SearchAttributeType>[] = Object.freeze(
  SEARCH_ATTRIBUTE_DEFINITIONS.map((d) => defineSearchAttributeKey(d.name, SDK_TYPE[d.type])),
);

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTE_DEFINITIONS.flatMap((d) => ['--search-attribute', `${d.name}=${d.type}`]);
}
