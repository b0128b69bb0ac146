/**
 * Discovering where work can go (issue 17): the clusters a bind may name, their types, their queues
 * with limits, and which compute-resource keys each cluster type acts on. Any role may read it.
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { HONOURED_RESOURCE_KEYS } from '../../domain/cluster-keys';
import { listClusters } from '../../sql/cluster-catalog';
import type { AppEnv, RouteDeps } from '../deps';
import { ClustersSchema, errorResponses, json } from '../../contract/schemas';

const clustersRoute = createRoute({
  method: 'get',
  path: '/clusters',
  tags: ['clusters'],
  summary: 'Clusters, their types, queues with limits, and the resource keys each type honours',
  responses: { 200: json(ClustersSchema, 'Every cluster a workflow may use'), ...errorResponses },
});

export function clusterRoutes({ db }: RouteDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(clustersRoute, async (c) => {
    const clusters = await listClusters(db);
    return c.json(
      {
        clusters: clusters.map((cl) => ({
          ...cl,
          // A plugin type not in the table acts on whatever keys it reads: null = not known here.
          honoured_resource_keys: HONOURED_RESOURCE_KEYS[cl.cluster_type]
            ? [...HONOURED_RESOURCE_KEYS[cl.cluster_type]]
            : null,
        })),
      },
      200,
    );
  });
  return app;
}
