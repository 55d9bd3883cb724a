/**
 * scripts/prepare.mjs, npm's `prepare`: every install builds dist/, except `npx xc-orch` linking
 * this folder into its own cache (npm_command=exec), which would build the built folder again.
 * The npm it would run is a stand-in that records its arguments, so nothing is built here.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDirs } from './support/tempDirs.js';

const ROOT = join(__dirname, '..');
const SCRIPT = join(ROOT, 'scripts', 'prepare.mjs');
const tempDir = useTempDirs('file');
let dir: string;
let fakeNpm: string;
let calls: string;

beforeAll(async () => {
  dir = await tempDir('xc-prepare-');
  calls = join(dir, 'npm-calls.txt');
  fakeNpm = join(dir, 'fake-npm.cjs');
  writeFileSync(fakeNpm, `require('node:fs').appendFileSync(${JSON.stringify(calls)}, process.argv.slice(2).join(' ') + ' in ' + process.cwd() + '\\n');\n`);
});

function prepare(script: string, npmCommand: string): { status: number | null; calls: string[] } {
  writeFileSync(calls, '');
  const result = spawnSync(process.execPath, [script], {
    env: { PATH: process.env.PATH, npm_command: npmCommand, npm_execpath: fakeNpm },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, calls: readFileSync(calls, 'utf8').split('\n').filter(Boolean) };
}

describe('prepare', () => {
  it('builds on npm ci and npm install', () => {
    expect(existsSync(join(ROOT, 'dist', 'png2y4m.mjs'))).toBe(true);
    for (const command of ['ci', 'install']) expect(prepare(SCRIPT, command)).toEqual({ status: 0, calls: [`run build in ${ROOT}`] });
  });

  it('leaves a built folder as it is under npx, and builds one that is not built', () => {
    expect(prepare(SCRIPT, 'exec')).toEqual({ status: 0, calls: [] });
    // The same script in a checkout without dist/.
    const bare = join(dir, 'bare');
    mkdirSync(join(bare, 'scripts'), { recursive: true });
    copyFileSync(SCRIPT, join(bare, 'scripts', 'prepare.mjs'));
    expect(prepare(join(bare, 'scripts', 'prepare.mjs'), 'exec')).toEqual({ status: 0, calls: [`run build in ${bare}`] });
  });
});
