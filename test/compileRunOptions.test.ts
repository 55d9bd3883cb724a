/**
 * compileRunOptions: defaults from the one table, durations a timer can wait, the TLS all-or-none
 * rule, where the coordinator listens, and environment variables read from `env` only.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { MAX_TIMER_MS } from '../common/optionTable.js';
import { compileRunOptions, RUN_OPTIONS } from '../runtime/coordinator/runOptions.js';

const NO_ENV = {};

describe('compileRunOptions', () => {
  it('gives every default from the table, durations in ms', () => {
    const o = compileRunOptions({}, NO_ENV);
    expect(o).toMatchObject({ bucket: RUN_OPTIONS.bucket.default, port: RUN_OPTIONS.port.default, spares: 0, launcher: 'local', regions: ['us-east-1'] });
    expect(o.answerTimeoutMs).toBe(RUN_OPTIONS.answerTimeoutS.default * 1000);
    expect(o.killAfterMs).toBeUndefined();
  });

  // Regression (issue 15): `arrivalTimeoutMs: undefined` left every test green.
  it('sets the arrival timeout: 120 s by default, none for --launcher none unless given, 0 waits', () => {
    expect(compileRunOptions({}, NO_ENV).arrivalTimeoutMs).toBe(120_000);
    expect(compileRunOptions({ arrivalTimeoutS: 2.5 }, NO_ENV).arrivalTimeoutMs).toBe(2500);
    expect(compileRunOptions({ arrivalTimeoutS: 0 }, NO_ENV).arrivalTimeoutMs).toBeUndefined();
    expect(compileRunOptions({ launcher: 'none', payloadOut: 'p.json' }, NO_ENV).arrivalTimeoutMs).toBeUndefined();
    expect(compileRunOptions({ launcher: 'none', payloadOut: 'p.json', arrivalTimeoutS: 3 }, NO_ENV).arrivalTimeoutMs).toBe(3000);
  });

  // Regression (issue 15): the all-or-none check could be removed without a test noticing.
  it('refuses some of -c/-s/-k without the others, from options or env', () => {
    expect(() => compileRunOptions({ caCert: 'ca.pem' }, NO_ENV)).toThrow(/-c, -s and -k go together/);
    expect(() => compileRunOptions({ caCert: 'ca.pem', serverCert: 's.pem' }, NO_ENV)).toThrow(ConfigError);
    expect(() => compileRunOptions({ serverKey: 'k.pem' }, { CA_CERT: 'ca.pem' })).toThrow(/go together/);
    expect(compileRunOptions({ caCert: 'a', serverCert: 'b', serverKey: 'c' }, NO_ENV).tls).toEqual({ caCert: 'a', serverCert: 'b', serverKey: 'c' });
    expect(compileRunOptions({ serverCert: 'b' }, { CA_CERT: 'a', SRV_KEY: 'c' }).tls).toMatchObject({ serverCert: 'b' });
  });

  // Regression (issue 9, item 3): --answer-timeout 2147484 overflowed the timer and failed every chunk at once.
  it('accepts every duration a timer can wait and refuses longer ones', () => {
    const max = Math.floor(MAX_TIMER_MS / 1000);
    expect(compileRunOptions({ answerTimeoutS: max }, NO_ENV).answerTimeoutMs).toBe(max * 1000);
    for (const key of ['answerTimeoutS', 'killAfterS', 'arrivalTimeoutS'] as const) {
      expect(() => compileRunOptions({ [key]: max + 1 }, NO_ENV), key).toThrow(/at most 2147483.*timers cannot wait longer/);
      expect(() => compileRunOptions({ [key]: -1 }, NO_ENV), key).toThrow(ConfigError);
      expect(() => compileRunOptions({ [key]: Number.NaN }, NO_ENV), key).toThrow(ConfigError);
    }
    expect(() => compileRunOptions({ answerTimeoutS: 0 }, NO_ENV)).toThrow(/above 0/);
  });

  it('listens on loopback for local workers or a loopback --host, on every interface otherwise, or where --listen says', () => {
    expect(compileRunOptions({}, NO_ENV).listenHost).toBe('127.0.0.1');
    expect(compileRunOptions({ launcher: 'none', payloadOut: 'p', host: '127.0.0.1' }, NO_ENV).listenHost).toBe('127.0.0.1');
    expect(compileRunOptions({ launcher: 'lambda', bucket: 'frames', host: 'localhost' }, NO_ENV).listenHost).toBe('127.0.0.1');
    expect(compileRunOptions({ launcher: 'lambda', bucket: 'frames', host: '203.0.113.5' }, NO_ENV).listenHost).toBe('0.0.0.0');
    expect(compileRunOptions({ launcher: 'lambda', bucket: 'frames', host: '203.0.113.5', listen: '10.0.0.2' }, NO_ENV).listenHost).toBe('10.0.0.2');
    expect(() => compileRunOptions({ listen: 'example.com' }, NO_ENV)).toThrow(/--listen must be an IP address/);
  });

  it('refuses a local folder store for workers on AWS Lambda, not for a Lambda-compatible API of one\'s own', () => {
    expect(() => compileRunOptions({ launcher: 'lambda', host: '203.0.113.5' }, NO_ENV)).toThrow(
      /^--launcher lambda needs an S3 bucket \(-b BUCKET\): workers on AWS Lambda cannot read the local folder file:\.\/xc-store$/,
    );
    expect(() => compileRunOptions({ launcher: 'lambda', bucket: 'file:/srv/frames', host: '203.0.113.5' }, NO_ENV)).toThrow(ConfigError);
    const own = { launcher: 'lambda' as const, bucket: 'file:/srv/frames', host: '127.0.0.1' };
    expect(compileRunOptions({ ...own, lambdaEndpoint: 'http://127.0.0.1:9001' }, NO_ENV).bucket).toBe('file:/srv/frames');
    expect(compileRunOptions(own, { AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001' }).bucket).toBe('file:/srv/frames');
    expect(() => compileRunOptions(own, { AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toThrow(/needs an S3 bucket/);
  });

  it('reads the S3 endpoint from env only for an S3 store, and not when told to ignore it', () => {
    expect(compileRunOptions({ bucket: 'frames' }, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' }).s3Endpoint).toBe('http://127.0.0.1:9');
    expect(compileRunOptions({ bucket: 'frames' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:8' }).s3Endpoint).toBe('http://127.0.0.1:8');
    expect(compileRunOptions({}, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' }).s3Endpoint).toBeUndefined();
    expect(compileRunOptions({ bucket: 'frames' }, { AWS_ENDPOINT_URL_S3: 'http://x:9', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).s3Endpoint).toBeUndefined();
  });

  it('refuses bad values with the option named and its help line', () => {
    expect(() => compileRunOptions({ port: 70_000 }, NO_ENV)).toThrow('--port must be a whole number from 0 to 65535, got 70000: -t, --port N: TLS port to listen on (0: any free port)');
    expect(() => compileRunOptions({ regions: [''] }, NO_ENV)).toThrow(/--regions must be a comma-separated list of non-empty names/);
    expect(() => compileRunOptions({ launcher: 'ssh' as 'local' }, NO_ENV)).toThrow(/--launcher must be one of local, none, lambda/);
    expect(() => compileRunOptions({ launcher: 'none' }, NO_ENV)).toThrow(/--payload-out/);
  });
});
