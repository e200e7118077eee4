/**
 * `npm run bench`: the foundation benchmarks (host start, agent create/dispose, HTTP floor,
 * messages, memory, machine floor). Prints a table and writes JSON to bench/results/.
 *
 *   npm run bench                       full run: table + bench/results/<date>-foundation.json, latest.json
 *   npm run bench -- --quick            smoke check with few iterations (writes no result files)
 *   npm run bench -- --json             print the JSON report instead of the table
 *   npm run bench -- --markdown         print the table as Markdown (for the README)
 *   npm run bench -- --only messages,memory --runs 1
 *   npm run bench -- --snapshot [REV]   measure a clean build of commit REV (default HEAD) made in a
 *                                       temp dir, so edits and rebuilds of the working tree during
 *                                       the run cannot change what is measured
 *   npm run bench -- --cpu-prof /tmp/prof   hosts and agents of the message scenario write CPU
 *                                       profiles; summarise: node bench/profile-summary.ts /tmp/prof/*
 *   npm run bench -- --host-node-options=--max-semi-space-size=2   NODE_OPTIONS for hosts + agents
 *   npm run bench -- --wait-quiet 300   wait up to 300 s for other load on the machine to settle
 *   npm run bench -- --help             all options
 *   npm run bench -- --suite mobility,compute   which suites (foundation, mobility, durability,
 *                                       compute or all; default all). Each suite also runs on its
 *                                       own: node bench/mobility.ts [--quick] [--json]; it writes
 *                                       bench/results/<date>-<suite>.json and latest-<suite>.json.
 *                                       --only names foundation scenarios when several suites run.
 *
 * Progress goes to stderr; the table (or JSON) to stdout.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInSnapshot } from './snapshot.ts';

const args = process.argv.slice(2);
const SUITES = ['foundation', 'mobility', 'durability', 'compute'];
const si = args.findIndex((a) => a === '--suite' || a.startsWith('--suite='));
const suiteArg = si < 0 ? 'all' : args[si]!.startsWith('--suite=') ? args[si]!.slice(8) : (args[si + 1] ?? '');
if (si >= 0) args.splice(si, args[si]!.startsWith('--suite=') ? 1 : 2);
const suites = suiteArg === 'all' ? SUITES : suiteArg.split(',').map((s) => s.trim());
const unknown = suites.filter((s) => !SUITES.includes(s));
if (unknown.length || suites.length === 0) {
  process.stderr.write(`--suite: unknown suite '${unknown.join(',') || suiteArg}'; choose from ${SUITES.join(', ')} or all\n`);
  process.exit(2);
}
const at = args.indexOf('--snapshot');
if (at >= 0) {
  const next = args[at + 1];
  const rev = next !== undefined && !next.startsWith('-') ? next : 'HEAD';
  args.splice(at, rev === next ? 2 : 1);
  process.exitCode = await runInSnapshot(rev, [...args, '--suite', suites.join(',')], dirname(fileURLToPath(import.meta.url)));
} else {
  for (const suite of suites) {
    if (suite === 'foundation') {
      // Imported only now: the suite loads taglets from dist/, which --snapshot must not touch.
      process.argv.splice(2, process.argv.length - 2, ...args);
      await import('./suite.ts');
      continue;
    }
    // The later suites run as their own processes; --only names foundation scenarios unless one suite runs.
    const own = [...args];
    const oi = own.indexOf('--only');
    if (oi >= 0 && suites.length > 1) own.splice(oi, 2);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [fileURLToPath(new URL(`./${suite}.ts`, import.meta.url)), ...own], { stdio: 'inherit' });
    const code = await new Promise<number>((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig ? 130 : 1))));
    if (code !== 0) process.exitCode = code;
  }
}
