import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/buildDist.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Vitest runs one file fewer than the cores at once: on 2 cores a single file, though most
    // files spend their time waiting on child processes and sockets, not computing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // After-hooks in reverse order of registration (vitest's default, stated because tests rely on
    // it): useTempDirs registers first, so servers and workers close before their folders go.
    sequence: { hooks: 'stack' },
  },
});
