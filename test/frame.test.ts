import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame } from '../protocol/frame.js';
import { ProtocolError } from '../common/errors.js';

describe('frame codec', () => {
  it('encodes the length as 12 zero-padded digits and a space', () => {
    expect(encodeFrame('echo:hi').toString()).toBe('000000000007 echo:hi');
    expect(encodeFrame('').toString()).toBe('000000000000 ');
    expect(encodeFrame('é').toString()).toBe('000000000002 é');
  });

  it('reassembles frames split across chunks and several frames in one chunk', () => {
    const wire = Buffer.concat([encodeFrame('set:a:1'), encodeFrame(''), encodeFrame('x'.repeat(1000))]);
    for (const step of [1, 2, 7, 13, 14, 500, wire.length]) {
      const decoder = new FrameDecoder();
      const got: string[] = [];
      for (let i = 0; i < wire.length; i += step) got.push(...decoder.push(wire.subarray(i, i + step)).map(String));
      expect(got).toEqual(['set:a:1', '', 'x'.repeat(1000)]);
      expect(decoder.buffered).toBe(0);
    }
  });

  it('carries binary payloads unchanged', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const [payload] = new FrameDecoder().push(encodeFrame(bytes));
    expect(Buffer.compare(payload!, Buffer.from(bytes))).toBe(0);
  });

  it.each([
    ['letters in the length', 'abcdefghijkl payload'],
    ['a missing space', '0000000000070echo:hi'],
    ['a sign', '-00000000007 echo:hi'],
  ])('rejects a header with %s', (_why, wire) => {
    expect(() => new FrameDecoder().push(Buffer.from(wire))).toThrow(ProtocolError);
  });

  it('rejects a frame above the maximum before buffering its payload', () => {
    const decoder = new FrameDecoder(1024);
    expect(() => decoder.push(Buffer.from('000000001025 '))).toThrow(/exceeds the maximum of 1024 bytes/);
    expect(() => decoder.push(Buffer.from('x'))).toThrow(ProtocolError);
  });

  it('returns at most the frames asked for and hands the bytes after them, unread, to another decoder', () => {
    const wire = Buffer.concat([encodeFrame('OK:HELLO:7'), encodeFrame('x'.repeat(100)), encodeFrame('OK:SET(a)').subarray(0, 5)]);
    const first = new FrameDecoder(16);
    expect(first.push(wire.subarray(0, 4), 1)).toEqual([]);
    expect(first.push(wire.subarray(4), 1).map(String)).toEqual(['OK:HELLO:7']);
    const rest = new FrameDecoder();
    const got = first.takeBuffered().flatMap((chunk) => rest.push(chunk).map(String));
    expect(got).toEqual(['x'.repeat(100)]);
    expect(first.buffered).toBe(0);
    expect(rest.buffered).toBe(5);
    expect(rest.push(encodeFrame('OK:SET(a)').subarray(5)).map(String)).toEqual(['OK:SET(a)']);
    const midway = new FrameDecoder();
    midway.push(Buffer.from('000000000005 ab'));
    expect(() => midway.takeBuffered()).toThrow(/in the middle of a frame/);
  });

  it('accepts a frame of exactly the maximum size', () => {
    const decoder = new FrameDecoder(4);
    expect(decoder.push(encodeFrame('abcd')).map(String)).toEqual(['abcd']);
  });
});
