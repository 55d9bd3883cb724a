/**
 * Entry of the worker's png2y4m thread (see toolThread.ts and builtinTools.ts): serves one
 * invocation at a time with the tool's own `main`, its stderr captured like a process's output,
 * its relative names resolved against the command's working folder, and dither plans kept
 * between frames. Says `ready` once loaded, so the worker knows the thread works before it hands
 * it a frame.
 *
 * Not a program: `new Worker(new URL('./png2y4mThread.js', import.meta.url))`.
 */
import { parentPort } from 'node:worker_threads';
import { main, type ToolIo } from '../png2y4m/main.js';
import { createDitherPlanCache } from './ditherPlanCache.js';
import { OutputTail } from './outputTail.js';
import type { ToolThreadMessage, ToolThreadRequest } from './toolThread.js';

const port = parentPort;
if (!port) throw new Error('png2y4mThread runs as a worker thread of the xc-orch worker, not as a program');

const plans = createDitherPlanCache();

/** Standard streams the worker routes to the shell path instead (builtinTools.ts). */
function unavailable(what: string): never {
  throw new Error(`${what} is not available to the in-process png2y4m`);
}

port.on('message', async (request: ToolThreadRequest) => {
  const tail = new OutputTail(request.maxOutputBytes);
  const io: ToolIo = {
    stderr: (text) => tail.push(Buffer.from(text, 'latin1')),
    readStdin: () => unavailable('standard input'),
    openStdout: () => unavailable('standard output'),
    cwd: request.cwd,
    env: request.env,
    ditherPlan: plans.get,
  };
  const code = await main(request.argv, io);
  const reply: ToolThreadMessage = { kind: 'done', id: request.id, code, output: tail.text() };
  port.postMessage(reply);
});

const ready: ToolThreadMessage = { kind: 'ready' };
port.postMessage(ready);
