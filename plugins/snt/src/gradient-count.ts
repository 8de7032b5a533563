import { BACKWARD, type Graph } from '@tessera/core';
import type { Executor, Feeds, Session } from '@tessera/runtime';

/**
 * An executor that counts gradient evaluations: runs of a session whose graph holds backward nodes
 * (core autodiff marks them `meta.backward`). Each such run is one forward + backward pass, so a
 * plain optimizer step costs one and a SAM step two. It delegates everything to the real executor.
 */
export class GradientCountingExecutor implements Executor {
  /** Runs of graphs with a backward pass so far. */
  gradientEvaluations = 0;
  /** Runs of forward-only graphs so far (evaluation). */
  forwardEvaluations = 0;

  constructor(readonly inner: Executor) {}

  get backend() {
    return this.inner.backend;
  }

  async session(graph: Graph): Promise<Session> {
    const s = await this.inner.session(graph);
    const backward = graph.nodes.some((n) => n.meta.get(BACKWARD) === true);
    return {
      backend: s.backend,
      key: s.key,
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      run: (feeds: Feeds, fetches?: readonly string[]) => {
        if (backward) this.gradientEvaluations++;
        else this.forwardEvaluations++;
        return s.run(feeds, fetches);
      },
      release: () => s.release(),
    };
  }

  async run(graph: Graph, feeds: Feeds, fetches?: readonly string[]) {
    return (await this.session(graph)).run(feeds, fetches);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
