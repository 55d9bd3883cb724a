/**
 * A pino logger whose lines land in an array, so a test can read what would have been logged
 * (and check that no secret ever is).
 */
import { pino, type Level, type Logger } from 'pino';

/**
 * @example
 * const { logger, lines } = captureLogger();
 * createInterpreter({ ..., logger });
 * expect(lines.join('')).not.toContain(key);
 */
export function captureLogger(level: Level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level }, { write: (line: string) => void lines.push(line) }), lines };
}
