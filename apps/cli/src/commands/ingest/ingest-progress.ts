import cliProgress from 'cli-progress';

/** What the progress display shows as the run goes. */
export interface IngestProgress {
  /** Called as lines are read (`bytes` so far) and decided (`lines` so far). */
  update(bytes: number, lines: number): void;
  /** Called as each file of a folder or pattern starts (`index` from 1 of `total`). */
  file(index: number, total: number, name: string): void;
  /** Removes the bar; further updates are ignored. */
  stop(): void;
}

const quiet: IngestProgress = { update: () => undefined, file: () => undefined, stop: () => undefined };

/** Without a terminal (a log, CI), one line per file on stderr says how far the run is; nothing with `--json`. */
const lines: IngestProgress = {
  update: () => undefined,
  file: (index, total, name) => process.stderr.write(`sentcopy: ingest [${index}/${total}] ${name}\n`),
  stop: () => undefined,
};

/**
 * A progress bar on stderr with the rate and, when the input's size is known, the ETA (bytes read
 * against the files' size), and with `files` the file being read. Only on a terminal and without
 * `--json`; without a terminal, one line per file with `files`, else nothing.
 */
export function createIngestProgress(options: { totalBytes: number | undefined; json: boolean; files?: boolean }): IngestProgress {
  if (options.json) return quiet;
  if (process.stderr.isTTY !== true) return options.files === true ? lines : quiet;
  const started = performance.now();
  const known = options.totalBytes !== undefined && options.totalBytes > 0;
  const bar = new cliProgress.SingleBar(
    {
      format: `${known ? 'ingest [{bar}] {percentage}% | {lines} lines | {rate} lines/s | ETA {eta_formatted}' : 'ingest {lines} lines | {rate} lines/s | {duration_formatted}'}${options.files === true ? ' | {file}' : ''}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(known ? (options.totalBytes as number) : 1, 0, { lines: 0, rate: 0, file: '' });
  let stopped = false;
  return {
    file(index, total, name) {
      if (!stopped) bar.update({ file: `[${index}/${total}] ${name}` });
    },
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
