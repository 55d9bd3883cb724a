/**
 * The worker's peer link as mu's commands see it: at most one link (`connect:`, `close_connect:`),
 * `STATE(n):` frames received on it written to the temp dir, and this worker's own state sent
 * after a pass of the chain. Socket-free: links come from a {@link PeerLinkOpener}, so the
 * interpreter runs the same code against TLS and in memory.
 */
import { pino, type Logger } from 'pino';
import { describeError } from '../common/errors.js';
import { answers, binaryAnswers, parseStateFrame, stateFrame } from '../protocol/messages.js';
import type { PeerLink, PeerLinkOpener, PeerTarget } from './peerLink.js';
import { compressedFinalState, DEFAULT_MAX_STATE_BYTES, keepPassOutputs, stateName, writeStateFile } from './stateFiles.js';

export interface PeerSessionOptions {
  /** Where received states are written (the worker's temp dir). */
  tmpDir: string;
  /** Undefined where the worker has no TLS identity to dial with (mode 0, bare interpreters). */
  opener: PeerLinkOpener | undefined;
  /** Receives an `INFO:peer:...` answer about the link (a dropped frame, a lost link) for the coordinator. */
  onInfo(answer: string): void;
  /** Default: {@link DEFAULT_MAX_STATE_BYTES}. */
  maxStateBytes?: number;
  /** Default: silent. */
  logger?: Logger;
}

/** The key of the `INFO:` answers that report on the peer link. */
export const PEER_INFO_KEY = 'peer';

export class PeerSession {
  private link: { link: PeerLink; target: PeerTarget } | undefined;
  /** Received states are written one after another, in arrival order. */
  private writes: Promise<void> = Promise.resolve();
  private readonly closing = new Set<Promise<void>>();
  private closed = false;
  private readonly log: Logger;
  private readonly maxStateBytes: number;

  constructor(private readonly options: PeerSessionOptions) {
    this.log = options.logger ?? pino({ level: 'silent' });
    this.maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
  }

  get isOpen(): boolean {
    return this.link?.link.state === 'open';
  }

  /**
   * `connect:HOST:PORT:FIRST`: open the link, send FIRST (when not empty) as its first frame.
   * Resolves with the answer; never rejects.
   */
  async connect(raw: Buffer): Promise<string | Buffer> {
    if (this.isOpen) return answers.fail('already connected');
    const parsed = parseTarget(raw);
    if (typeof parsed === 'string') return answers.fail(`connect: ${parsed}`);
    if (!this.options.opener) return answers.fail('connect: this worker has no TLS identity to open peer links with');
    const { target, first } = parsed;
    let link: PeerLink;
    try {
      link = await this.options.opener(target, {
        onFrame: (payload) => this.receive(payload),
        onLost: (detail) => this.lost(link, `peer link to ${target.host}:${target.port} lost: ${detail}`),
      });
    } catch (error) {
      return answers.fail(describeError(error));
    }
    if (this.closed) {
      void link.close();
      return answers.fail('connect: the worker is stopping');
    }
    this.link = { link, target };
    this.log.debug({ host: target.host, port: target.port }, 'peer link up');
    if (first.byteLength > 0) {
      try {
        await link.send(first);
      } catch (error) {
        this.drop(link);
        return answers.fail(`connect to ${target.host}:${target.port}: sending the first frame: ${describeError(error)}`);
      }
    }
    return binaryAnswers.connect(raw);
  }

  /** `close_connect:`: close the link if there is one (what was sent is still flushed). */
  closeConnect(): string {
    if (this.link) this.drop(this.link.link);
    return answers.closeConnect();
  }

  /**
   * After a successful background pass of the chain (mu's `finished_run`): keep `output.ivf` as
   * `prev.ivf`, remove `{run_iter-2}.state`, and with `send` and an open link send
   * `STATE(run_iter):` + zlib of `final.state`. Rejects with a reason naming the step that failed.
   */
  async afterChainPass(runIter: number, send: boolean): Promise<void> {
    try {
      await keepPassOutputs(this.options.tmpDir, runIter);
    } catch (error) {
      throw new Error(`keeping output.ivf as prev.ivf: ${describeError(error)}`, { cause: error });
    }
    const current = this.link;
    if (!send || !current || current.link.state !== 'open') return;
    try {
      await current.link.send(stateFrame(runIter, await compressedFinalState(this.options.tmpDir)));
    } catch (error) {
      throw new Error(`sending final.state as STATE(${runIter}) to ${current.target.host}:${current.target.port}: ${describeError(error)}`, { cause: error });
    }
  }

  /** Close the link and wait for it and for states still being written. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.link) this.drop(this.link.link);
    await Promise.allSettled([...this.closing, this.writes]);
  }

  private receive(payload: Buffer): void {
    const state = parseStateFrame(payload);
    if (!state) {
      this.report(`dropped a frame of ${payload.byteLength} bytes that is not STATE(n):`);
      return;
    }
    this.writes = this.writes.then(async () => {
      try {
        await writeStateFile(this.options.tmpDir, state.n, state.compressed, this.maxStateBytes);
        this.log.debug({ state: stateName(state.n) }, 'state received');
      } catch (error) {
        this.report(`dropped STATE(${state.n}): ${describeError(error)}`);
      }
    });
  }

  private lost(link: PeerLink, detail: string): void {
    if (this.link?.link === link) this.link = undefined;
    this.report(detail);
  }

  private drop(link: PeerLink): void {
    if (this.link?.link === link) this.link = undefined;
    const closing = link.close().finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  private report(text: string): void {
    this.log.warn({ peer: text }, 'peer link');
    if (!this.closed) this.options.onInfo(answers.info(PEER_INFO_KEY, text));
  }
}

/** `HOST:PORT:FIRST` (FIRST may be empty or missing, and holds any bytes); a string says what is wrong. */
function parseTarget(raw: Buffer): { target: PeerTarget; first: Buffer } | string {
  const colon = raw.indexOf(0x3a);
  const second = colon < 0 ? -1 : raw.indexOf(0x3a, colon + 1);
  const host = colon < 0 ? '' : raw.subarray(0, colon).toString('utf8');
  const portText = colon < 0 ? '' : raw.subarray(colon + 1, second < 0 ? raw.byteLength : second).toString('utf8');
  if (host === '' || portText === '') return 'expected HOST:PORT:FIRST';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `port must be an integer from 1 to 65535, got '${portText.slice(0, 40)}'`;
  return { target: { host, port }, first: second < 0 ? Buffer.alloc(0) : raw.subarray(second + 1) };
}
