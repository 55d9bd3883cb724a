/**
 * `--plot FILE` on `run`: keep the same entries `-O` writes (state entries and ends, seconds since
 * the job started) and draw them with the timeline plot when the job ends. A {@link JobObserver}:
 * one small object per state entry, nothing drawn until `close()`.
 *
 * @example const plot = createPlotObserver('timeline.html', { title: 'png2y4m, 8 chunks' }); // observers: [plot]
 */
import type { JobObserver } from './jobObserver.js';
import { timelineRecorder, type TimelineEntry } from './timeline.js';
import { plotFormat, writeTimelinePlot, type PlotOptions } from './timelinePlot.js';

export interface PlotObserver extends Required<Pick<JobObserver, 'workerAdmitted' | 'workerState' | 'workerEnded' | 'close'>> {
  /** Entries recorded so far. */
  entries(): readonly TimelineEntry[];
}

/** Throws ConfigError at once for a file name that is neither `.html` nor `.svg`; writes nothing for a job without entries. */
export function createPlotObserver(file: string, options: PlotOptions = {}, startedAt = performance.now()): PlotObserver {
  plotFormat(file);
  const entries: TimelineEntry[] = [];
  return {
    ...timelineRecorder((entry) => entries.push(entry), startedAt),
    entries: () => entries,
    // No worker ever reported a state (none arrived, or the job never started): nothing to draw.
    close: async () => {
      if (entries.length > 0) await writeTimelinePlot(file, entries, options);
    },
  };
}
