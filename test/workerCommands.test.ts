import { readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../common/errors.js';
import { LocalStore } from '../store/localStore.js';
import { createInterpreter, MAX_ECHOED_COMMAND_CHARS, type Interpreter, type InterpreterOptions } from '../worker/commands.js';
import { hashKey } from '../store/hashKey.js';
import { generateCredentials } from '../runtime/tls/certs.js';
import { parseEvent } from '../worker/parseEvent.js';
import { captureLogger } from './support/captureLogger.js';
import { useTempDirs } from './support/tempDirs.js';
import { expandCommand, type TemplateLookup } from '../worker/template.js';

const tempDir = useTempDirs();
let tmpDir: string;
let storeDir: string;
let bucket: string;

beforeEach(async () => {
  tmpDir = await tempDir('xc-test-worker-');
  storeDir = await tempDir('xc-test-store-');
  bucket = `file:${storeDir}`;
});

/** An interpreter whose answers land in `answers`. */
function harness(overrides: Partial<InterpreterOptions> = {}) {
  const answers: string[] = [];
  let quits = 0;
  const interpreter: Interpreter = createInterpreter({
    event: { bucket },
    tmpDir,
    onAnswer: (text) => answers.push(text),
    onQuit: () => quits++,
    ...overrides,
  });
  const send = (...commands: string[]) => {
    for (const command of commands) interpreter.handle(command);
    return interpreter.settled().then(() => answers);
  };
  return { interpreter, answers, send, quits: () => quits };
}

describe('variables', () => {
  it('sets, gets and reports values, strings and integers alike', async () => {
    const { send } = harness();
    expect(await send('set:cmdinfile:##TMPDIR##/a:b.png', 'get:cmdinfile', 'seti:count: -12 ', 'get:count', 'geti:count')).toEqual([
      'OK:SET(cmdinfile)',
      'OK:GET(##TMPDIR##/a:b.png)',
      'OK:SETI(count)',
      'OK:GET(-12)',
      'INFO:count:-12',
      'OK:GETI(count)',
    ]);
  });

  it('allows an empty value', async () => {
    const { send } = harness();
    expect(await send('set:empty:', 'get:empty')).toEqual(['OK:SET(empty)', 'OK:GET()']);
  });

  it('dumps all vals as JSON, integers as numbers, seeded from the event', async () => {
    const { send } = harness({ event: { bucket, region: 'eu-west-3', hash_s3keys: 1, command: 'true' } });
    const [, dump] = await send('seti:n:7', 'dump_vals:');
    expect(dump!.startsWith('OK:DUMP_VALS:')).toBe(true);
    const vals = JSON.parse(dump!.slice('OK:DUMP_VALS:'.length)) as Record<string, unknown>;
    expect(vals).toEqual({
      bucket,
      region: 'eu-west-3',
      nonblock: 0,
      bg_silent: 0,
      hash_s3keys: 1,
      rm_tmpdir: 1,
      expect_statefile: 0,
      send_statefile: 0,
      minimal_recode: 0,
      run_iter: 0,
      n: 7,
    });
  });

  it("never answers or logs the worker's key or certificates, given a real payload holding them", async () => {
    const creds = await generateCredentials();
    const event = parseEvent({ mode: 1, bucket, region: 'eu-west-3', command: 'true', cacert: creds.caCert, wrkcert: creds.workerCert, wrkkey: creds.workerKey });
    const { logger, lines } = captureLogger('trace');
    const { send } = harness({ event, logger });
    const answers = await send(
      'dump_vals:',
      ...['wrkkey', 'wrkcert', 'cacert', 'key', 'srvkey'].flatMap((name) => [`get:${name}`, `geti:${name}`]),
      'run:',
      'run:echo ##QUALITY## ##INFILE##',
      'bogus:',
      'retrieve:',
      'upload:',
    );
    expect(answers[0]).toMatch(/^OK:DUMP_VALS:\{"bucket"/);
    expect(lines.length).toBeGreaterThan(0);
    const seen = [...answers, ...lines].join('\n');
    for (const pem of [creds.workerKey, creds.workerCert, creds.caCert]) {
      // Any line of the base64 body would give it away, not only the whole PEM.
      for (const line of pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(seen).not.toContain(line);
    }
  });

  it("answers mu's exact FAIL texts for bad set/seti/get/geti", async () => {
    const { send } = harness();
    expect(await send('set:novalue', 'set::v', 'seti:n:abc', 'seti:n:1.5', 'seti:n:', 'seti:nocolon', 'get:nope', 'geti:nope')).toEqual([
      'FAIL(invalid syntax for SET)',
      'FAIL(invalid syntax for SET)',
      'FAIL(could not interpret abc as an integer)',
      'FAIL(could not interpret 1.5 as an integer)',
      'FAIL(could not interpret  as an integer)',
      'FAIL(invalid syntax for SET)',
      'FAIL(no such variable nope)',
      'FAIL(no such variable nope)',
    ]);
  });

  it('refuses integers beyond the safe range instead of rounding them', async () => {
    const { send } = harness();
    expect(await send('seti:big:123456789012345678901')).toEqual(['FAIL(could not interpret 123456789012345678901 as an integer)']);
  });
});

describe('other commands', () => {
  it('echoes, keeping colons and NULs', async () => {
    const { send } = harness();
    expect(await send('echo:a:b\0c', 'echo:')).toEqual(['OK:ECHO(a:b\0c)', 'OK:ECHO()']);
  });

  it('answers unknown commands with the whole command text, clipped when huge', async () => {
    const { send } = harness();
    const huge = `x:${'y'.repeat(10_000)}`;
    const got = await send('bogus:1', 'set', 'hello', 'SET:a:b', huge);
    expect(got.slice(0, 4)).toEqual(["FAIL(no such command 'bogus:1')", "FAIL(no such command 'set')", "FAIL(no such command 'hello')", "FAIL(no such command 'SET:a:b')"]);
    expect(got[4]).toBe(`FAIL(no such command '${huge.slice(0, MAX_ECHOED_COMMAND_CHARS)}...')`);
  });

  it('says plainly that an interpreter without a TLS identity cannot open peer links', async () => {
    const { send } = harness();
    expect(await send('connect:127.0.0.1:9999:HELLO_STATE', 'close_connect:')).toEqual([
      'FAIL(connect: this worker has no TLS identity to open peer links with)',
      'OK:CLOSE_CONNECT',
    ]);
  });

  it('quits without an answer and ignores whatever follows', async () => {
    const { send, interpreter, quits } = harness();
    expect(await send('echo:1', 'quit:', 'echo:2')).toEqual(['OK:ECHO(1)']);
    expect(quits()).toBe(1);
    expect(interpreter.state).toBe('quitting');
  });

  it('keeps order when the answer sink sends the next command at once', async () => {
    const answers: string[] = [];
    let interpreter: Interpreter | undefined;
    interpreter = createInterpreter({
      event: { bucket },
      tmpDir,
      onAnswer: (text) => {
        answers.push(text);
        if (text === 'OK:ECHO(1)') {
          interpreter!.handle('echo:2');
          interpreter!.handle('echo:3');
        }
        if (text === 'OK:ECHO(2)') interpreter!.handle('echo:4');
      },
    });
    interpreter.handle('echo:1');
    await interpreter.settled();
    // Arrival order is 1, 2, 3, 4: a nested loop would serve 4 (sent while answering 2) before 3.
    expect(answers).toEqual(['OK:ECHO(1)', 'OK:ECHO(2)', 'OK:ECHO(3)', 'OK:ECHO(4)']);
  });
});

describe('run:', () => {
  it('expands the template from vals, then event fallbacks, with ##TMPDIR## last', async () => {
    const { send } = harness({ event: { bucket, quality: '40', args: '##OUTFILE##' } });
    const got = await send(
      'set:cmdinfile:##TMPDIR##/in.png',
      'set:cmdoutfile:##TMPDIR##/out.y4m',
      'set:cmdvars:GREETING=hello',
      'run:printenv GREETING; echo ##INFILE## q=##QUALITY##',
    );
    const command = `GREETING=hello printenv GREETING; echo '${tmpDir}/in.png' q=40 '${tmpDir}/out.y4m'`;
    expect(got[3]).toBe(`OK:RETVAL(0):OUTPUT(hello\n${tmpDir}/in.png q=40 ${tmpDir}/out.y4m\n):COMMAND(${command})`);
  });

  it("runs the function's own command for a bare run:, in the temp dir", async () => {
    const { send } = harness({ event: { bucket, command: 'pwd -P' } });
    const [answer] = await send('run:');
    expect(answer).toBe(`OK:RETVAL(0):OUTPUT(${await realpath(tmpDir)}\n):COMMAND(pwd -P)`);
  });

  it('fails clearly when there is nothing to run', async () => {
    const { send } = harness();
    expect(await send('run:')).toEqual(['FAIL(no command to run: run: was given none and the function has none)']);
  });

  it('reports a non-zero status with stdout and stderr together', async () => {
    const { send } = harness();
    const [answer] = await send('run:echo out; echo err >&2; exit 3');
    expect(answer).toMatch(/^OK:RETVAL\(3\):OUTPUT\((out\nerr\n|err\nout\n)\):COMMAND\(echo out; echo err >&2; exit 3\)$/);
  });

  it('bounds the output, keeping its tail', async () => {
    const { send } = harness({ maxOutputBytes: 100 });
    const [answer] = await send("run:head -c 5000 /dev/zero | tr '\\0' x; echo END");
    const output = /OUTPUT\(([\s\S]*)\):COMMAND/.exec(answer!)![1]!;
    expect(output).toBe(`[4904 bytes of output omitted]${'x'.repeat(96)}END\n`);
  });

  it('serves commands in order: a foreground run finishes before the next command is answered', async () => {
    const { send } = harness();
    const got = await send('run:sleep 0.2; echo first', 'echo:second');
    expect(got[0]).toMatch(/^OK:RETVAL\(0\):OUTPUT\(first\n\)/);
    expect(got[1]).toBe('OK:ECHO(second)');
  });

  it('in background mode answers RUNNING first, keeps serving, then sends the result', async () => {
    const { interpreter, answers } = harness();
    const go = join(tmpDir, 'go');
    // The job waits for a file the test creates only after seeing the echo: ordering, not timing.
    const script = 'for i in $(seq 1 500); do [ -e go ] && break; sleep 0.02; done; echo done';
    interpreter.handle('seti:nonblock:1');
    interpreter.handle(`run:${script}`);
    interpreter.handle('echo:meanwhile');
    expect(answers).toEqual(['OK:SETI(nonblock)', `OK:RUNNING(${script})`, 'OK:ECHO(meanwhile)']);
    expect(interpreter.busy).toBe(true);
    await writeFile(go, '');
    await interpreter.settled();
    expect(answers[3]).toBe(`OK:RETVAL(0):OUTPUT(done\n):COMMAND(${script})`);
    expect(interpreter.busy).toBe(false);
  });

  it('with bg_silent sends only the final answer', async () => {
    const { send } = harness();
    expect(await send('seti:nonblock:1', 'seti:bg_silent:1', 'run:echo quiet')).toEqual([
      'OK:SETI(nonblock)',
      'OK:SETI(bg_silent)',
      'OK:RETVAL(0):OUTPUT(quiet\n):COMMAND(echo quiet)',
    ]);
  });

  it('reads set:nonblock:0 as off (mu treated any string as on)', async () => {
    const { send } = harness();
    const got = await send('set:nonblock:0', 'run:echo fg');
    expect(got).toEqual(['OK:SET(nonblock)', 'OK:RETVAL(0):OUTPUT(fg\n):COMMAND(echo fg)']);
  });

  it('close() kills a running command and sends nothing more', async () => {
    const { interpreter, answers } = harness();
    interpreter.handle('run:sleep 30');
    interpreter.handle('echo:never');
    expect(interpreter.busy).toBe(true);
    await interpreter.close();
    expect(answers).toEqual([]);
    expect(interpreter.state).toBe('closed');
    expect(interpreter.busy).toBe(false);
  });
});

describe('retrieve: and upload:', () => {
  it('retrieves into the temp dir from vals and uploads back', async () => {
    const store = new LocalStore(storeDir);
    await store.put('clip/00000001.png', Buffer.from('frame one'));
    const { send } = harness();
    const got = await send(
      'set:inkey:clip/00000001.png',
      'set:targfile:##TMPDIR##/00000001.png',
      'retrieve:',
      'run:cp 00000001.png out.bin',
      'set:outkey:out/chunk.bin',
      'set:fromfile:##TMPDIR##/out.bin',
      'upload:',
    );
    expect(got[2]).toBe(`OK:RETRIEVE(${bucket}/clip/00000001.png)`);
    expect(got[3]).toMatch(/^OK:RETVAL\(0\)/);
    expect(got[6]).toBe(`OK:UPLOAD(${bucket}/out/chunk.bin)`);
    expect(await readFile(join(storeDir, 'out/chunk.bin'), 'utf8')).toBe('frame one');
  });

  it('accepts the inline KEY\\0FILE forms, with relative files inside the temp dir', async () => {
    const store = new LocalStore(storeDir);
    await store.put('k1', Buffer.from('inline'));
    const { send } = harness();
    const got = await send('retrieve:k1\0got.txt', 'upload:k2\0##TMPDIR##/got.txt');
    expect(got).toEqual([`OK:RETRIEVE(${bucket}/k1)`, `OK:UPLOAD(${bucket}/k2)`]);
    expect(await readFile(join(tmpDir, 'got.txt'), 'utf8')).toBe('inline');
    expect(await readFile(join(storeDir, 'k2'), 'utf8')).toBe('inline');
  });

  it('in background mode answers RETRIEVING/UPLOADING first', async () => {
    await new LocalStore(storeDir).put('a', Buffer.from('x'));
    const { send } = harness();
    const got = await send('seti:nonblock:1', 'retrieve:a\0##TMPDIR##/a');
    expect(got).toEqual(['OK:SETI(nonblock)', `OK:RETRIEVING(${bucket}/a->${tmpDir}/a)`, `OK:RETRIEVE(${bucket}/a)`]);
    const more = await send('upload:b\0##TMPDIR##/a');
    expect(more.slice(3)).toEqual([`OK:UPLOADING(${tmpDir}/a->${bucket}/b)`, `OK:UPLOAD(${bucket}/b)`]);
  });

  it('prefixes hashed keys when hash_s3keys is on', async () => {
    const key = 'clip/abc';
    expect(hashKey(key)).toBe('9001-clip/abc'); // md5("abc") = 900150983cd2...
    await new LocalStore(storeDir).put('9001-clip/abc', Buffer.from('hashed'));
    const { send } = harness();
    const got = await send('seti:hash_s3keys:1', `retrieve:${key}\0f`, 'upload:out/abc\0f');
    expect(got).toEqual(['OK:SETI(hash_s3keys)', `OK:RETRIEVE(${bucket}/9001-clip/abc)`, `OK:UPLOAD(${bucket}/9001-out/abc)`]);
    expect(await readFile(join(storeDir, '9001-out/abc'), 'utf8')).toBe('hashed');
  });

  it('fails with one line naming bucket, key and file when the key is missing', async () => {
    const { send } = harness();
    const [answer] = await send('retrieve:no/such.png\0##TMPDIR##/x.png');
    expect(answer).toMatch(new RegExp(`^FAIL\\(retrieving ${escape(bucket)}/no/such\\.png->${escape(tmpDir)}/x\\.png: NoSuchKey: .*\\)$`));
    expect(answer).not.toContain('\n');
  });

  it('fails when the upload input file is missing', async () => {
    const { send } = harness();
    expect(await send('upload:k\0##TMPDIR##/missing.y4m')).toEqual([`FAIL(uploading ${tmpDir}/missing.y4m->${bucket}/k: no such file ${tmpDir}/missing.y4m)`]);
  });

  it('fails when the parameters are incomplete or the inline form has no NUL', async () => {
    const { send } = harness();
    expect(await send('retrieve:', 'set:inkey:k', 'retrieve:', 'upload:', 'retrieve:k-without-file')).toEqual([
      'FAIL(could not compute download params: no variable inkey or targfile)',
      'OK:SET(inkey)',
      'FAIL(could not compute download params: no variable targfile)',
      'FAIL(could not compute upload params: no variable outkey or fromfile)',
      'FAIL(could not compute download params: the inline form is KEY\\0FILE (key and file separated by a NUL byte))',
    ]);
  });

  it('turns a store that cannot be opened or fails into a FAIL answer', async () => {
    const opened: string[] = [];
    const { send } = harness({
      openStore: (spec, options) => {
        opened.push(`${spec}@${options.region ?? '-'}`);
        if (spec === 'broken') throw new StoreError('AccessDenied', 'AccessDenied: broken/k');
        return new LocalStore(storeDir);
      },
      event: { bucket: 'ok', region: 'eu-west-1' },
    });
    const got = await send('retrieve:k\0f', 'set:bucket:broken', 'retrieve:k\0f');
    expect(got[0]).toMatch(/^FAIL\(retrieving ok\/k->f: NoSuchKey: /);
    expect(got[2]).toBe('FAIL(retrieving broken/k->f: AccessDenied: broken/k)');
    expect(opened).toEqual(['ok@eu-west-1', 'broken@eu-west-1']);
  });
});

describe('expandCommand', () => {
  const lookupOf =
    (values: Record<string, string>): TemplateLookup =>
    (name) =>
      values[name];

  it('prepends vars and appends args before substituting, so they may use placeholders', () => {
    const lookup = lookupOf({ vars: 'A=##QUALITY##', args: '##INFILE##', quality: '9', infile: '##TMPDIR##/i' });
    expect(expandCommand('cmd', lookup, '/t')).toBe("A=9 cmd '/t/i'");
  });

  it('leaves placeholders without a value and inserts $ patterns literally', () => {
    expect(expandCommand('x ##INFILE## ##OUTFILE##', lookupOf({ outfile: '$&$1' }), '/t')).toBe("x ##INFILE## '$&$1'");
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
