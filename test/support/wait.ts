/**
 * How long a test waits for something to happen: generous, because the suite runs on loaded
 * 2-core machines, and below vitest's 30 s test timeout so that a wait that fails says what it
 * waited for. Pass it to every `vi.waitFor`; tests never rely on the 1 s default.
 */

/** @example await vi.waitFor(() => expect(seen).toEqual([4]), WAIT); */
export const WAIT = { timeout: 20_000, interval: 25 } as const;
