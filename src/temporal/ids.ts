/**
 * Names of a Jobmon workflow's Temporal execution and where the Temporal Web UI shows it. Pure
 * string functions over the configuration, kept below every layer that needs them (the SQL reads
 * put the UI link into status answers, control starts runs under the id, the notifier signals it)
 * so that none of those has to import the Temporal client to spell an id.
 */
import type { Config } from '../config';

/** One Temporal workflow id per Jobmon workflow: Temporal's id uniqueness gives "one active run" for free. */
export function temporalWorkflowId(config: Pick<Config, 'workflowIdPrefix'>, workflowId: number): string {
  return `${config.workflowIdPrefix}-workflow-${workflowId}`;
}

/** The Web UI page of an execution (its history when the Temporal run id is known). */
export function temporalUiUrl(
  config: Pick<Config, 'temporalUiUrl' | 'temporalNamespace'>,
  id: string,
  runId?: string,
): string {
  const base = `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(id)}`;
  return runId ? `${base}/${runId}/history` : base;
}
