/**
 * `--snapshot [REV]`: runs the suite against a clean build of one commit. The commit is
 * exported with `git archive` into a temp dir, compiled there with the project's tsc (sharing
 * node_modules through a symlink), the working tree's bench/ is copied in, and the suite runs
 * from there, writing its results back into this bench/results/. Nothing in the working tree
 * or the repository changes, and rebuilds of dist/ by other work during the run do not matter.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const log = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};

export async function runInSnapshot(rev: string, args: string[], benchDir: string): Promise<number> {
  const root = dirname(benchDir);
  const commit = execFileSync('git', ['rev-parse', '--short', `${rev}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), `taglets-bench-${commit}-`));
  try {
    log(`snapshot: exporting ${commit} to ${dir}`);
    const tar = join(dir, 'snapshot.tar');
    execFileSync('git', ['archive', '--format=tar', `--output=${tar}`, commit], { cwd: root });
    execFileSync('tar', ['-xf', tar, '-C', dir]);
    rmSync(tar);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    let typeErrors = false;
    try {
      execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      typeErrors = true;
      const lines = String((err as { stdout?: Buffer }).stdout ?? '').trim().split('\n');
      const out = [...lines.slice(0, 8), ...(lines.length > 8 ? [`... (${lines.length} lines)`] : [])].join('\n');
      log(`snapshot: tsc reported errors (the emitted JavaScript is used anyway):\n${out}`);
    }
    if (!existsSync(join(dir, 'dist', 'testing.js'))) throw new Error(`snapshot: the build of ${commit} produced no dist/testing.js`);
    // The benchmark code itself comes from the working tree (it may be newer than the commit).
    mkdirSync(join(dir, 'bench', 'results'), { recursive: true });
    for (const name of readdirSync(benchDir)) {
      if (/\.(ts|js|json)$/.test(name)) copyFileSync(join(benchDir, name), join(dir, 'bench', name));
    }
    log(`snapshot: built ${commit}; running the suite there`);
    const child = spawn(process.execPath, [join(dir, 'bench', 'run.ts'), ...withResultsDir(args, join(benchDir, 'results'))], {
      stdio: 'inherit',
      env: { ...process.env, TAGLETS_BENCH_COMMIT: commit, ...(typeErrors ? { TAGLETS_BENCH_BUILD_ERRORS: '1' } : {}) },
    });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) => child.once('exit', (c, s) => resolve(c ?? (s ? 130 : 1))));
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function withResultsDir(args: string[], dir: string): string[] {
  return args.includes('--results-dir') ? args : [...args, '--results-dir', dir];
}
