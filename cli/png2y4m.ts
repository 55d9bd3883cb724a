/**
 * `xc-orch png2y4m [options] INPUT`: the bundled png2y4m (same tool as the `png2y4m` bin).
 *
 * @example xc-orch png2y4m -i -d -o out.y4m frames/%08d.png
 */
import { main } from '../png2y4m/main.js';

export function run(args: string[]): Promise<number> {
  return main(['png2y4m', ...args]);
}
