/**
 * Entry of a png2y4m frame thread (see frameThreads.ts): decodes and converts the frames the main
 * thread hands it, in the order they come, and sends back each frame's outcome. A frame is decoded
 * as soon as it arrives; its conversion waits for the dither plan, which the main thread computes
 * meanwhile (it depends only on the first frame's shape).
 *
 * Not a program: `new Worker(new URL('./frameThread.js', import.meta.url))`.
 */
import { parentPort } from 'node:worker_threads';
import { convertDecoded, decodeFrame, type FrameOutcome } from './frameConversion.js';
import type { FrameReply, FrameThreadRequest } from './frameThreads.js';

const port = parentPort;
if (!port) throw new Error('frameThread runs as a worker thread of png2y4m, not as a program');

let resolvePlan: (plan: Int16Array | null) => void = () => {};
const plan = new Promise<Int16Array | null>((resolve) => (resolvePlan = resolve));

port.on('message', async (request: FrameThreadRequest) => {
  if (request.kind === 'plan') {
    resolvePlan(request.plan);
    return;
  }
  const { k, bytes, shape, chroma } = request;
  let outcome: FrameOutcome;
  try {
    const decoded = decodeFrame(bytes, shape);
    outcome = decoded.kind === 'decoded' ? convertDecoded(decoded, shape, chroma, await plan) : decoded;
  } catch (error) {
    outcome = { kind: 'crashed', warnings: [], message: error instanceof Error ? error.message : String(error) };
  }
  const reply: FrameReply = { k, outcome };
  // The planes are this frame's own (allocatePlanes): moved, not copied.
  const transfer = outcome.kind === 'converted' ? [outcome.planes.y, outcome.planes.cb, outcome.planes.cr].map((plane) => plane.buffer as ArrayBuffer) : [];
  port.postMessage(reply, transfer);
});
