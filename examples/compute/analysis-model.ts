// Analysis example, the model: a small random forest of regression trees trained on seeded
// synthetic data, in plain JavaScript (no dependencies). Same seed, same numbers, anywhere.

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal from a uniform source (Box-Muller). */
function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export interface Dataset {
  rows: number;
  features: number;
  /** Column-major: x[f][row]. */
  x: Float64Array[];
  y: Float64Array;
}

/**
 * Rows of `features` uniform inputs in [-1, 1] and a target built from the first few of them
 * (linear, interaction, curved and periodic parts) plus noise; the rest are pure noise inputs.
 */
export function makeDataset(seed: number, rows: number, features: number): Dataset {
  const r = rng(seed);
  const x = Array.from({ length: features }, () => new Float64Array(rows));
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let f = 0; f < features; f++) x[f]![i] = r() * 2 - 1;
    const v = (f: number): number => (f < features ? x[f]![i]! : 0);
    y[i] = 3 * v(0) - 2 * v(1) + 1.5 * v(2) * v(3) + Math.sin(3 * v(4)) + v(5) * v(5) + 0.25 * gaussian(r);
  }
  return { rows, features, x, y };
}

type Node = { leaf: true; value: number } | { leaf: false; feature: number; threshold: number; left: Node; right: Node };

export interface TreeOptions {
  maxDepth: number;
  minLeaf: number;
  /** Features tried at each split. */
  mtry: number;
}

function mean(y: Float64Array, idx: Int32Array): number {
  let s = 0;
  for (let i = 0; i < idx.length; i++) s += y[idx[i]!]!;
  return idx.length ? s / idx.length : 0;
}

/** Grows one regression tree on rows `idx`; adds each split's SSE reduction to `importance`. */
export function growTree(d: Dataset, idx: Int32Array, opts: TreeOptions, r: () => number, importance: Float64Array, depth = 0): Node {
  const n = idx.length;
  if (depth >= opts.maxDepth || n < 2 * opts.minLeaf) return { leaf: true, value: mean(d.y, idx) };
  let total = 0;
  for (let i = 0; i < n; i++) total += d.y[idx[i]!]!;
  const base = (total * total) / n;
  // Random feature subset (partial Fisher-Yates).
  const order = Array.from({ length: d.features }, (_, f) => f);
  for (let i = 0; i < Math.min(opts.mtry, d.features); i++) {
    const j = i + Math.floor(r() * (d.features - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let best = { gain: 1e-12, feature: -1, threshold: 0 };
  const sorted = new Int32Array(n);
  for (let c = 0; c < Math.min(opts.mtry, d.features); c++) {
    const f = order[c]!;
    const col = d.x[f]!;
    sorted.set(idx);
    sorted.sort((a, b) => col[a]! - col[b]!);
    let left = 0;
    for (let i = 0; i < n - 1; i++) {
      left += d.y[sorted[i]!]!;
      const nl = i + 1;
      if (nl < opts.minLeaf || n - nl < opts.minLeaf) continue;
      const a = col[sorted[i]!]!;
      const b = col[sorted[i + 1]!]!;
      if (a === b) continue;
      const right = total - left;
      const gain = (left * left) / nl + (right * right) / (n - nl) - base;
      if (gain > best.gain) best = { gain, feature: f, threshold: (a + b) / 2 };
    }
  }
  if (best.feature < 0) return { leaf: true, value: total / n };
  importance[best.feature] = importance[best.feature]! + best.gain;
  const col = d.x[best.feature]!;
  let nl = 0;
  for (let i = 0; i < n; i++) if (col[idx[i]!]! <= best.threshold) nl++;
  const li = new Int32Array(nl);
  const ri = new Int32Array(n - nl);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    const row = idx[i]!;
    if (col[row]! <= best.threshold) li[a++] = row;
    else ri[b++] = row;
  }
  return {
    leaf: false,
    feature: best.feature,
    threshold: best.threshold,
    left: growTree(d, li, opts, r, importance, depth + 1),
    right: growTree(d, ri, opts, r, importance, depth + 1),
  };
}

export function predictTree(node: Node, d: Dataset, row: number): number {
  let n = node;
  while (!n.leaf) n = d.x[n.feature]![row]! <= n.threshold ? n.left : n.right;
  return n.value;
}

export interface ForestResult {
  trees: number;
  train_rows: number;
  test_rows: number;
  train_rmse: number;
  test_rmse: number;
  /** RMSE of predicting the training mean: what the model must beat. */
  baseline_rmse: number;
  test_r2: number;
  /** Normalized split gains per feature (sum 1). */
  importance: number[];
  /** Extra trees grown only to reach the target runtime (their results are discarded). */
  padding_trees: number;
  compute_seconds: number;
}

export interface ForestOptions {
  seed: number;
  rows: number;
  features: number;
  trees: number;
  maxDepth?: number;
  minLeaf?: number;
  /** Keep the CPU busy until this many seconds have passed (0: no padding). */
  targetRuntimeSeconds?: number;
  /** Called between trees so long runs can yield to the event loop. */
  yieldEvery?: () => Promise<void>;
}

/** Trains a forest on 80 % of the rows and scores it on the rest. */
export async function trainForest(o: ForestOptions): Promise<ForestResult> {
  const t0 = performance.now();
  const d = makeDataset(o.seed, o.rows, o.features);
  const r = rng(o.seed ^ 0x9e3779b9);
  const nTrain = Math.max(1, Math.floor(o.rows * 0.8));
  const train = Int32Array.from({ length: nTrain }, (_, i) => i);
  const test = Int32Array.from({ length: o.rows - nTrain }, (_, i) => nTrain + i);
  const opts: TreeOptions = {
    maxDepth: o.maxDepth ?? 6,
    minLeaf: o.minLeaf ?? 5,
    mtry: Math.max(1, Math.round(o.features / 3)),
  };
  const importance = new Float64Array(o.features);
  const trees: Node[] = [];
  const grow = (gain: Float64Array): Node => {
    const boot = new Int32Array(nTrain);
    for (let i = 0; i < nTrain; i++) boot[i] = train[Math.floor(r() * nTrain)]!;
    return growTree(d, boot, opts, r, gain);
  };
  for (let t = 0; t < o.trees; t++) {
    trees.push(grow(importance));
    await o.yieldEvery?.();
  }
  const predict = (row: number): number => trees.reduce((s, tr) => s + predictTree(tr, d, row), 0) / trees.length;
  const rmse = (rows: Int32Array, f: (row: number) => number): number => {
    let s = 0;
    for (const row of rows) s += (d.y[row]! - f(row)) ** 2;
    return rows.length ? Math.sqrt(s / rows.length) : 0;
  };
  const trainMean = mean(d.y, train);
  const testRmse = rmse(test, predict);
  const baseline = rmse(test, () => trainMean);
  const totalGain = importance.reduce((a, b) => a + b, 0) || 1;
  // Padding: grow throwaway trees until the target runtime is reached.
  let padding = 0;
  const scratch = new Float64Array(o.features);
  const target = (o.targetRuntimeSeconds ?? 0) * 1000;
  while (performance.now() - t0 < target) {
    grow(scratch);
    padding++;
    await o.yieldEvery?.();
  }
  const round = (v: number): number => Math.round(v * 1e6) / 1e6;
  return {
    trees: o.trees,
    train_rows: nTrain,
    test_rows: o.rows - nTrain,
    train_rmse: round(rmse(train, predict)),
    test_rmse: round(testRmse),
    baseline_rmse: round(baseline),
    test_r2: round(baseline > 0 ? 1 - (testRmse * testRmse) / (baseline * baseline) : 0),
    importance: Array.from(importance, (g) => round(g / totalGain)),
    padding_trees: padding,
    compute_seconds: round((performance.now() - t0) / 1000),
  };
}
