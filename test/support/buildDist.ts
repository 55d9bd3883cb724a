/**
 * Vitest global setup: `dist/` is built once, before any test file runs, whenever it is missing or
 * older than a source file. Child processes (workers, the CLI, tool shims, the Lambda bundle) run
 * `dist/`, so no test file may rebuild it while others run from it. `npm test` builds first
 * (pretest), so this costs a directory walk; `npx vitest run test/x.test.ts` alone builds here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestSource(dir: string): number {
  if (!statSync(dir).isDirectory()) return statSync(dir).mtimeMs; // a single file such as index.ts
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const config = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  // The build's last output.
  const marker = join(ROOT, 'dist', 'png2y4mFrameThread.mjs');
  const newest = Math.max(...config.include.filter((dir) => existsSync(join(ROOT, dir))).map((dir) => newestSource(join(ROOT, dir))));
  if (existsSync(marker) && statSync(marker).mtimeMs >= newest) return;
  // The package's own build (tsc, then the bundles bin/png2y4m.js loads), as npm runs it.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building dist/ for the tests failed:\n${build.stdout}${build.stderr}`);
}
