/** Friendly units for CLI flags: sizes like `64M`, `1.5GB`, `512KiB`. */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a size: a number with an optional unit K/M/G/T, KB/MB/GB/TB or KiB/MiB/GiB/TiB
 * (all powers of 1024, as in paglets) or B. `none`/`unlimited` give `null` when allowed.
 */
export function parseSize(text: string, options: { allowUnlimited?: boolean } = {}): number | null {
  const t = text.trim().toLowerCase();
  if (options.allowUnlimited && (t === 'none' || t === 'unlimited')) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(t);
  const factor = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || factor === undefined) {
    throw new Error(
      `invalid size '${text}': use a number with an optional unit K, M, G (or KB/MB/GB, KiB/MiB/GiB)${options.allowUnlimited ? ", or 'none'" : ''}`,
    );
  }
  return Math.round(Number(m[1]) * factor);
}

/** `768.0M`-style sizes for tables. */
export function formatSize(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(1)}${units[i]}`;
}

/** `2.1m`-style durations for tables (input in seconds). */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)}m`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}
