/**
 * Load the resources YAML written by `jmt resources <template> --format yaml` (or the GUI's YAML
 * link) into compute resources for `getTaskTemplate({ defaultComputeResources })`:
 *
 *   task_template_resources:
 *     model:
 *       slurm: { queue: all.q, cores: 1, memory: 6G, runtime: 2h }
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

export type ResourcesByTemplate = Record<string, Record<string, Record<string, string | number>>>;

export function parseResourcesYaml(text: string, source = 'resources YAML'): ResourcesByTemplate {
  const doc = YAML.parse(text) as { task_template_resources?: unknown } | null;
  const all = doc?.task_template_resources;
  if (!all || typeof all !== 'object')
    throw new Error(`${source}: expected a top-level "task_template_resources" mapping`);
  for (const [template, clusters] of Object.entries(all as Record<string, unknown>)) {
    if (!clusters || typeof clusters !== 'object')
      throw new Error(`${source}: task_template_resources.${template} must map cluster names to resources`);
    for (const [cluster, resources] of Object.entries(clusters as Record<string, unknown>)) {
      if (!resources || typeof resources !== 'object' || Array.isArray(resources))
        throw new Error(`${source}: task_template_resources.${template}.${cluster} must be a mapping of resources`);
    }
  }
  return all as ResourcesByTemplate;
}

/** Resources of one template (for `cluster`, or the only cluster listed) from a YAML file. */
export function loadTemplateResources(
  file: string,
  template: string,
  cluster?: string,
): Record<string, string | number> {
  const all = parseResourcesYaml(readFileSync(file, 'utf8'), file);
  const byCluster = all[template];
  if (!byCluster)
    throw new Error(
      `${file}: no resources for template ${JSON.stringify(template)} (has ${Object.keys(all).join(', ') || 'none'})`,
    );
  const clusters = Object.keys(byCluster);
  const chosen = cluster ?? (clusters.length === 1 ? clusters[0] : undefined);
  if (!chosen) throw new Error(`${file}: template ${template} lists clusters ${clusters.join(', ')}; name one`);
  const resources = byCluster[chosen];
  if (!resources) throw new Error(`${file}: template ${template} has no resources for cluster ${chosen}`);
  return { ...resources };
}
