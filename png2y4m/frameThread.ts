/**
 * Entry of a png2y4m decoding thread (see frameThreads.ts): decodes the frames the main thread
 * hands it, in the order they come, and sends back each one's pixels (or why it failed) while the
 * main thread converts the frames before it.
 *
 * Not a program: `new Worker(new URL('./frameThread.js', import.meta.url))`.
 */
import { parentPort } from 'node:worker_threads';
import { decodeFrame, type DecodedFrame, type FrameFailure } from './frameDecoding.js';
import type { FrameReply, FrameRequest } from './frameThreads.js';

const port = parentPort;
if (!port) throw new Error('frameThread runs as a worker thread of png2y4m, not as a program');

port.on('message', ({ k, bytes, shape }: FrameRequest) => {
  let decoded: DecodedFrame | FrameFailure;
  try {
    decoded = decodeFrame(bytes, shape);
  } catch (error) {
    decoded = { kind: 'crashed', warnings: [], message: error instanceof Error ? error.message : String(error) };
  }
  const reply: FrameReply = { k, decoded };
  // The pixels are this frame's own: moved, not copied.
  port.postMessage(reply, decoded.kind === 'decoded' ? [decoded.rgb.buffer as ArrayBuffer] : []);
});
