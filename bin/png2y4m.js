#!/usr/bin/env node
// The png2y4m tool on PATH (workers prepend this folder to PATH so `run:` finds it). It loads
// png2y4m/ as one file that the build bundles (dist/png2y4m.mjs, beside its decoding thread's
// dist/png2y4mFrameThread.mjs): a process per frame pays for loading it every time.
import { main } from '../dist/png2y4m.mjs';

process.exitCode = await main(['png2y4m', ...process.argv.slice(2)]);
