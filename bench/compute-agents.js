// Compute job fixtures for the compute benchmarks (bench/compute.ts).
import { ComputeJobAgent, COMPUTE_JOB_DEFAULTS } from 'taglets/compute';

/** A trivial job: its work is one multiplication, so the figures are the scheduling overhead. */
export class TrivialJob extends ComputeJobAgent {
  static defaultState = {
    ...COMPUTE_JOB_DEFAULTS,
    allow_home_compute: true,
    memory_bytes: 1024 * 1024,
    estimated_runtime_seconds: 1,
    n: 0,
    result: null,
    ran_on: null,
    finished_at: null,
  };
  runComputeJob() {
    this.state.result = this.state.n * 2;
    this.state.ran_on = this.hostName;
    this.state.finished_at = Date.now();
  }
}
