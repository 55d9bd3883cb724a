// A stand-in tool thread speaking worker/toolThread.ts's protocol, for the failure paths of the
// in-process tools: `png2y4m crash` throws (uncaught in the thread), `png2y4m exit` ends the
// thread with code 7, `png2y4m hang` never answers; anything else answers `stub ARGS`.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (request) => {
  const word = request.argv[1];
  if (word === 'crash') throw new Error('stub thread crashed on purpose');
  if (word === 'exit') process.exit(7);
  if (word === 'hang') for (;;);
  parentPort.postMessage({ kind: 'done', id: request.id, code: 0, output: `stub ${request.argv.slice(1).join(' ')}\n` });
});
parentPort.postMessage({ kind: 'ready' });
