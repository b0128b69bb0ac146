/**
 * `dummy`: completes every instance at submission without running anything (Jobmon has one too),
 * for benchmarks of the orchestration itself. No process, no wrapper, no API round trip.
 */
import type { DistributorContext } from './context';
import type { Distributor, RemoteExitInfo, SubmitRequest, SubmitResult } from './distributor';

export class DummyDistributor implements Distributor {
  readonly clusterType = 'dummy' as const;

  constructor(private readonly completeInstances: DistributorContext['completeInstances']) {}

  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const ids = request.instances.map((i) => i.taskInstanceId);
    try {
      // One transaction for the whole batch (not logDone per instance): benchmarks measure this path.
      await this.completeInstances(ids);
    } catch (err) {
      const message = `dummy distributor could not complete the batch: ${(err as Error).message}`;
      return { distributorIds: new Map(), errors: new Map(ids.map((id) => [id, message])) };
    }
    return { distributorIds: new Map(ids.map((id) => [id, `dummy-${id}`])) };
  }

  /** Nothing is ever queued or running. */
  async liveJobs(): Promise<Set<string>> {
    return new Set();
  }

  async remoteExitInfo(): Promise<RemoteExitInfo> {
    return { status: 'D', exitCode: 0, message: 'the dummy distributor completes every instance when it is submitted' };
  }

  async terminate(): Promise<void> {}

  async close(): Promise<void> {}
}
