/**
 * One contract for every client that answers like a worker: the real command interpreter
 * (worker/commands.ts, with a real local store and a real shell), the simulated worker the machine
 * tests drive (test/support/simulatedWorker.ts) and the swarm's clients (bench/swarmClients.ts)
 * run the same command scripts, and the simulated answers must be the real ones, text for text.
 * The real worker is the truth; the simulated ones only assume that every transfer and command
 * succeeds, so scripts that need a failing store or shell are not theirs to answer.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { swarmAnswer, swarmVals } from '../bench/swarmClients.js';
import { hashKey } from '../store/hashKey.js';
import { createInterpreter, MAX_ECHOED_COMMAND_CHARS } from '../worker/commands.js';
import { SimulatedWorker } from './support/simulatedWorker.js';
import { useTempDirs } from './support/tempDirs.js';

const tempDir = useTempDirs();
/** The payload's command, what a bare `run:` runs. */
const FUNCTION_COMMAND = 'test -d ##TMPDIR##';
let tmpDir: string;
let bucket: string;

beforeEach(async () => {
  tmpDir = await tempDir('xc-test-contract-worker-');
  const storeDir = await tempDir('xc-test-contract-store-');
  bucket = `file:${storeDir}`;
  for (const key of ['in/a.png', hashKey('in/a.png')]) {
    await mkdir(dirname(join(storeDir, key)), { recursive: true });
    await writeFile(join(storeDir, key), 'frame');
  }
});

async function realAnswers(commands: readonly string[]): Promise<string[]> {
  const answers: string[] = [];
  const interpreter = createInterpreter({ event: { bucket, command: FUNCTION_COMMAND }, tmpDir, onAnswer: (text) => answers.push(text) });
  try {
    for (const command of commands) interpreter.handle(command);
    await interpreter.settled();
  } finally {
    await interpreter.close();
  }
  return answers;
}

function simulatedAnswers(commands: readonly string[]): string[] {
  const worker = new SimulatedWorker({ bucket, command: FUNCTION_COMMAND, tmpDir });
  return commands.flatMap((command) => worker.answer(command));
}

function swarmAnswers(commands: readonly string[]): string[] {
  const vals = swarmVals(bucket);
  const answers: string[] = [];
  for (const command of commands) {
    const reply = swarmAnswer(command, vals, { command: FUNCTION_COMMAND }, tmpDir);
    // The swarm hangs up on quit:, so nothing after it is answered.
    if (reply === null) break;
    answers.push(...reply);
  }
  return answers;
}

const SET_TARGFILE = 'set:targfile:##TMPDIR##/a.png';
const huge = `x:${'y'.repeat(MAX_ECHOED_COMMAND_CHARS + 50)}`;

/** Scripts every client must answer exactly as the real worker does. */
const SCRIPTS: Record<string, readonly string[]> = {
  'set: and get:, colons and NULs kept in values': ['set:k:v', 'get:k', 'set:k:a:b\0c', 'get:k', 'set:empty:', 'get:empty'],
  'set: bad syntax': ['set:novalue', 'set::v', 'set:', 'seti:novalue', 'seti::1'],
  'seti: integers as Python int() reads them': ['seti:n:42', 'get:n', 'seti:n:-7', 'get:n', 'seti:n: 5 ', 'get:n', 'seti:n:+3', 'get:n', 'seti:n:-0', 'get:n', 'seti:n:007', 'get:n'],
  'seti: what is not an integer': ['seti:n:x', 'seti:n:1.5', 'seti:n:', 'seti:n:1e3', 'seti:n:0x10', 'seti:n:12345678901234567890', 'seti:n:1 2', 'get:n'],
  'get: and geti: of a missing key': ['get:missing', 'geti:missing', 'get:', 'geti:'],
  'geti: reports the value as INFO first': ['set:s:text', 'geti:s', 'seti:i:9', 'geti:i'],
  'dump_vals: as JSON, seeded like the real worker, integers as numbers': ['dump_vals:', 'set:a:1', 'seti:b:2', 'set:bucket:elsewhere', 'dump_vals:'],
  'echo:': ['echo:hi', 'echo:', 'echo:a:b\0c'],
  'unknown commands, names without a colon, wrong case, huge': ['frobnicate:x', 'frobnicate', 'set', 'quit', 'SET:a:b', '', ':x', huge],
  'retrieve: and upload: from the variables': ['set:inkey:in/a.png', SET_TARGFILE, 'retrieve:', 'set:outkey:out/a.png', 'set:fromfile:##TMPDIR##/a.png', 'upload:'],
  'retrieve: and upload: inline': ['retrieve:in/a.png\0##TMPDIR##/b.png', 'upload:out/b.png\0b.png'],
  'retrieve: and upload: without their variables or in bad inline form': ['retrieve:', 'set:inkey:in/a.png', 'retrieve:', 'upload:', 'set:outkey:out/a.png', 'upload:', 'retrieve:in/a.png', 'upload:nonul'],
  'retrieve: of an empty key or file name': ['retrieve:\0a.png', 'retrieve:in/a.png\0', 'set:inkey:', SET_TARGFILE, 'retrieve:'],
  'retrieve: without a bucket': ['set:bucket:', 'retrieve:in/a.png\0a.png'],
  'retrieve: with hashed keys': ['seti:hash_s3keys:1', 'retrieve:in/a.png\0a.png'],
  'retrieve: in the background': ['seti:nonblock:1', 'retrieve:in/a.png\0a.png'],
  'retrieve: in the background, silent': ['seti:nonblock:1', 'seti:bg_silent:1', 'retrieve:in/a.png\0a.png'],
  'run: a command, and the function command': ['run:true', 'run:'],
  'run: templates: ##TMPDIR##, ##INFILE##, ##OUTFILE##, ##QUALITY##, vars and args': [
    'set:cmdinfile:##TMPDIR##/in put.png',
    'set:cmdoutfile:##TMPDIR##/out.y4m',
    'set:cmdquality:-q 30',
    'set:cmdvars:A=1',
    'set:cmdargs:--x',
    'run:test -n ##INFILE## -a -n ##OUTFILE## || ##QUALITY##',
  ],
  'run: state placeholders': ['run:true ##INSTATESWITCH##', 'seti:run_iter:2', 'seti:expect_statefile:1', 'run:true ##INSTATESWITCH##', 'seti:minimal_recode:1', 'run:true ##INSTATESWITCH##'],
  'run: with a run_iter that is not an integer': ['set:run_iter:two', 'run:true', 'set:run_iter: 3 ', 'run:true'],
  'run: in the background': ['seti:nonblock:1', 'run:true'],
  'run: nonblock 0 given as text is off': ['set:nonblock:0', 'run:true'],
  'close_connect: without a link': ['close_connect:'],
  'quit: answers nothing and ends serving': ['echo:before', 'quit:', 'echo:after'],
};

describe('the simulated worker and the swarm answer as the real worker', () => {
  for (const [name, commands] of Object.entries(SCRIPTS)) {
    it(name, async () => {
      const real = await realAnswers(commands);
      expect(real.length).toBeGreaterThan(0);
      expect(simulatedAnswers(commands)).toEqual(real);
      expect(swarmAnswers(commands)).toEqual(real);
    });
  }
});

describe('what the simulated clients do not model says so', () => {
  it('connect: fails naming the missing peer links, as the real worker without a TLS identity fails it', async () => {
    expect(await realAnswers(['connect:127.0.0.1:9:HELLO'])).toEqual(['FAIL(connect: this worker has no TLS identity to open peer links with)']);
    expect(simulatedAnswers(['connect:127.0.0.1:9:HELLO'])).toEqual(['FAIL(connect: a simulated worker has no peer links)']);
    expect(swarmAnswers(['connect:127.0.0.1:9:HELLO'])).toEqual(['FAIL(connect: a simulated worker has no peer links)']);
  });

  it('transfers and runs always succeed there, where the real worker reports the failure', async () => {
    const commands = ['retrieve:in/absent.png\0a.png', 'run:false'];
    const [retrieve, run] = await realAnswers(commands);
    expect(retrieve).toMatch(/^FAIL\(retrieving file:.*\/in\/absent\.png->a\.png: /);
    expect(run).toBe('OK:RETVAL(1):OUTPUT():COMMAND(false)');
    expect(simulatedAnswers(commands)).toEqual([`OK:RETRIEVE(${bucket}/in/absent.png)`, 'OK:RETVAL(0):OUTPUT():COMMAND(false)']);
  });
});
