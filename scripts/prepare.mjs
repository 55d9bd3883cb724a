/**
 * npm's `prepare` script: builds dist/ (`npm run build`) after `npm ci` or `npm install`.
 *
 * `npx xc-orch ...` in this folder installs the folder into npx's own cache as a link and runs its
 * `prepare` again (npm_command=exec): a second full build of the very folder it links, already
 * built, about 6 s before a fresh clone's first command (the README's `npx xc-orch demo` took
 * 10.7 s instead of 3.6). So under npx a built dist/ is left as it is; every other install builds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outputs = ['dist/cli/main.js', 'dist/png2y4m.mjs', 'dist/png2y4mFrameThread.mjs'];
const built = outputs.every((file) => existsSync(new URL(`../${file}`, import.meta.url)));
if (process.env.npm_command === 'exec' && built) process.exit(0);

// The npm that runs this script (npm_execpath), else the one on PATH.
const npm = process.env.npm_execpath;
const result = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (result.error) console.error(`prepare: cannot run npm: ${result.error.message}`);
process.exit(result.status ?? 1);
