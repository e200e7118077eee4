/**
 * Summarises V8 .cpuprofile files (from `node --cpu-prof`): self time by package/area and the
 * top functions, so a benchmark figure can be explained without opening DevTools.
 *
 *   node bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile [--top 25] [--skip-ms 1500]
 *   npm run bench -- --only messages --runs 1 --cpu-prof /tmp/prof   (writes profiles of host + agent)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Which package or area a script URL belongs to. */
export function area(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') return functionName;
    return '(native)';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) {
    const m = /^node:(internal\/)?([^/]+)/.exec(url);
    return `node:${m?.[2] ?? url}`;
  }
  const dist = /\/(dist|bench|src)\/(.*)$/.exec(url);
  if (dist) return `${dist[1]}/${dist[2]!.split('/').slice(0, -1).join('/') || '.'}`;
  return url;
}

/** `skipMs`: ignore samples in the first milliseconds of the profile (e.g. process start-up). */
export function summarizeProfile(profile: Profile, top = 25, skipMs = 0): string {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    t += profile.timeDeltas[i] ?? 0;
    if (t < skipMs * 1000) continue;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = (profile.endTime - profile.startTime) / 1000 - skipMs;
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    const a = area(f.url, f.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + us / 1000);
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|dist|bench)\//, '$1/')}:${f.lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us / 1000);
  }
  const busy = [...byArea.entries()].filter(([a]) => a !== '(idle)').reduce((s, [, v]) => s + v, 0);
  const lines: string[] = [];
  lines.push(`wall ${total.toFixed(0)} ms, busy (not idle) ${busy.toFixed(0)} ms`);
  lines.push('self time by area:');
  for (const [a, v] of [...byArea.entries()].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    if (a === '(idle)') continue;
    lines.push(`  ${v.toFixed(1).padStart(9)} ms ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${a}`);
  }
  lines.push('top functions by self time:');
  for (const [fn, v] of [...byFn.entries()].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    if (fn.startsWith('(idle)')) continue;
    lines.push(`  ${v.toFixed(1).padStart(9)} ms ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${fn}`);
  }
  return lines.join('\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, 'skip-ms': { type: 'string', default: '0' } } });
  for (const file of positionals) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    process.stdout.write(`== ${file}\n${summarizeProfile(profile, Number(values.top), Number(values['skip-ms']))}\n\n`);
  }
}
