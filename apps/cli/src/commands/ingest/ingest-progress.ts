import cliProgress from 'cli-progress';

/** What the progress display shows as the run goes. */
export interface IngestProgress {
  /** Called as lines are read (`bytes` so far) and decided (`lines` so far). */
  update(bytes: number, lines: number): void;
  /** Removes the bar; further updates are ignored. */
  stop(): void;
}

const quiet: IngestProgress = { update: () => undefined, stop: () => undefined };

/**
 * A progress bar on stderr with the rate and, when the input's size is known, the ETA (bytes read
 * against the file's size). Only on a terminal and without `--json`; otherwise nothing.
 */
export function createIngestProgress(options: { totalBytes: number | undefined; json: boolean }): IngestProgress {
  if (options.json || process.stderr.isTTY !== true) return quiet;
  const started = performance.now();
  const known = options.totalBytes !== undefined && options.totalBytes > 0;
  const bar = new cliProgress.SingleBar(
    {
      format: known ? 'ingest [{bar}] {percentage}% | {lines} lines | {rate} lines/s | ETA {eta_formatted}' : 'ingest {lines} lines | {rate} lines/s | {duration_formatted}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(known ? (options.totalBytes as number) : 1, 0, { lines: 0, rate: 0 });
  let stopped = false;
  return {
    update(bytes, lines) {
      if (stopped) return;
      const seconds = (performance.now() - started) / 1000;
      bar.update(known ? bytes : 0, { lines, rate: seconds > 0 ? Math.round(lines / seconds) : 0 });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
