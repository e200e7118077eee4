// Pi example, compute side: one compute job per batch of Chudnovsky terms.
//
// `taglets examples pi --digits N` plans the batches (./pi-math.ts), creates a
// ResultCollectorAgent on the entry host and one PiBatchJob per batch (at most
// --max-in-flight at a time). Each job asks its host's compute-slots service for a core, may be
// redirected to a peer with a free core, computes P, Q, T of its terms with BigInt binary
// splitting, reports them (hex) to the collector and disposes itself. The CLI drains the
// collector, merges the contiguous prefix of batches and appends the digits that are certain
// to the output file.
//
// The class is loaded by hosts from this file (`<abs path>/examples/compute/pi.ts#PiBatchJob`),
// so every host of the mesh needs the taglets checkout at the same path.
import {
  COLLECTING_COMPUTE_JOB_DEFAULTS,
  CollectingComputeJobAgent,
  type CollectingComputeJobState,
} from 'taglets/compute';
import { computeTerms, pqtToHex, type PQTHex } from './pi-math.ts';

export interface PiBatchState extends CollectingComputeJobState {
  batch_index: number;
  term_start: number;
  term_end: number;
  /** Computed P, Q, T (hex) until reported. */
  pqt: PQTHex | null;
  compute_ms: number | null;
  /** Test hook: the job throws instead of computing. */
  fail_with: string | null;
}

/** The result each batch reports. */
export interface PiBatchResult extends PQTHex {
  batch_index: number;
  term_start: number;
  term_end: number;
  compute_ms: number;
  host_name: string;
}

export class PiBatchJob extends CollectingComputeJobAgent<PiBatchState> {
  static override defaultState: PiBatchState = {
    ...COLLECTING_COMPUTE_JOB_DEFAULTS,
    memory_bytes: 64 * 1024 * 1024,
    estimated_runtime_seconds: 1,
    // Runs where it was created when a core is free there; otherwise the scheduler redirects it.
    allow_home_compute: true,
    batch_index: 0,
    term_start: 0,
    term_end: 1,
    pqt: null,
    compute_ms: null,
    fail_with: null,
  };

  override runComputeJob(): void {
    const s = this.state;
    if (s.fail_with) throw new Error(s.fail_with);
    const t0 = performance.now();
    s.pqt = pqtToHex(computeTerms(s.term_start, s.term_end));
    s.compute_ms = Math.round((performance.now() - t0) * 1000) / 1000;
  }

  override buildResultPayload(): PiBatchResult {
    const s = this.state;
    return {
      batch_index: s.batch_index,
      term_start: s.term_start,
      term_end: s.term_end,
      compute_ms: s.compute_ms ?? 0,
      host_name: this.hostName,
      ...s.pqt!,
    };
  }
}
