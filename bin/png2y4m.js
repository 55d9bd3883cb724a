#!/usr/bin/env node
// The png2y4m tool on PATH (workers prepend this folder to PATH so `run:` finds it).
import { main } from '../dist/png2y4m/main.js';

process.exitCode = await main(['png2y4m', ...process.argv.slice(2)]);
