// The configuration file as a source on its own: a real file in a temp folder, edited the ways
// editors and operators do, and a watch that cannot start (descriptors exhausted under ulimit).
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createFileConfigSource, type ConfigTextSource, type FileConfigSourceOptions, type LogEntry } from '../src/index.js';
import { buildFixture, removeFixture } from './build-fixture.js';
import { eventually } from './config-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('file-source');
const stops: (() => void)[] = [];
afterAll(() => {
  for (const stop of stops) stop();
});

/** A configuration file with `text` in a fresh folder, its source, and every change the source tells. */
async function follow(text: string, options: Partial<Omit<FileConfigSourceOptions, 'file'>> = {}) {
  const file = path.join(newFolder(), 'sentcopy.config.json');
  writeFileSync(file, text);
  const logged: LogEntry[] = [];
  const source: ConfigTextSource = createFileConfigSource({ file, debounceMs: 20, logger: (entry) => logged.push(entry), ...options });
  expect(await source.read()).toBe(text);
  let changes = 0;
  const stop = source.watch(() => (changes += 1));
  stops.push(stop);
  return { file, source, logged, stop, changes: () => changes };
}

/** Writes as an editor that saves through a temp file and a rename would. */
function saveByRename(file: string, text: string): void {
  writeFileSync(`${file}.swp`, text);
  renameSync(`${file}.swp`, file);
}

const hour = 3_600_000;

describe('createFileConfigSource', () => {
  it('tells a change written in place through fs.watch (the poll is an hour out), and reads the new text', async () => {
    const { file, source, changes, logged } = await follow('{"first":1}', { pollIntervalMs: hour });
    writeFileSync(file, '{"second":2}');
    await eventually(() => changes() > 0, 'the change');
    expect(await source.read()).toBe('{"second":2}');
    expect(logged).toEqual([]);
  });

  it('tells an editor-style save (a new file renamed over the old one), which a watch on the file alone would miss', async () => {
    const { file, source, changes } = await follow('{"first":1}', { pollIntervalMs: hour });
    saveByRename(file, '{"saved":1}');
    await eventually(() => changes() > 0, 'the rename-over');
    expect(await source.read()).toBe('{"saved":1}');
    // The new inode is watched too: the next save is told as well.
    const seen = changes();
    saveByRename(file, '{"saved":2}');
    await eventually(() => changes() > seen, 'the second rename-over');
    expect(await source.read()).toBe('{"saved":2}');
  });

  it('tells several saves made at once as one change, after the quiet time', async () => {
    const { file, source, changes } = await follow('{"n":0}', { pollIntervalMs: hour, debounceMs: 300 });
    // Renames and writes in turn: events of different kinds, which the kernel does not merge into one.
    for (let n = 1; n <= 5; n += 1) {
      saveByRename(file, `{"n":${n}}`);
      writeFileSync(file, `{"n":${n}}`);
    }
    await eventually(() => changes() > 0, 'the change');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(changes()).toBe(1);
    expect(await source.read()).toBe('{"n":5}');
  });

  it('ignores other files of the folder', async () => {
    const { file, changes } = await follow('{}', { pollIntervalMs: hour, debounceMs: 10 });
    writeFileSync(path.join(path.dirname(file), 'other.json'), '{}');
    writeFileSync(path.join(path.dirname(file), 'sentcopy.config.env'), 'A=1\n');
    // Then an edit of the file itself: only it is told.
    writeFileSync(file, '{"mine":1}');
    await eventually(() => changes() > 0, 'the change of the file');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(changes()).toBe(1);
  });

  it('says a deleted file does not exist, naming the file, and tells its re-creation', async () => {
    const { file, source, changes } = await follow('{"first":1}', { pollIntervalMs: 50 });
    unlinkSync(file);
    await eventually(() => changes() > 0, 'the deletion');
    const error = await source.read().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues).toEqual([{ path: '', problem: 'the file does not exist' }]);
    expect((error as ConfigError).message).toContain(file);
    const seen = changes();
    writeFileSync(file, '{"again":1}');
    await eventually(() => changes() > seen, 'the re-creation');
    expect(await source.read()).toBe('{"again":1}');
  });

  it('says a path that cannot be read as a file cannot be read, with the code', async () => {
    const folder = newFolder();
    const file = path.join(folder, 'sentcopy.config.json');
    mkdirSync(file);
    const error = await createFileConfigSource({ file })
      .read()
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect((error as ConfigError).issues).toEqual([{ path: '', problem: 'the file cannot be read (EISDIR)' }]);
    rmSync(file, { recursive: true });
  });

  it('picks up an edit by polling alone when watching is off', async () => {
    const { file, source, changes } = await follow('{"first":1}', { watch: false, pollIntervalMs: 50 });
    writeFileSync(file, '{"polled":1}');
    await eventually(() => changes() > 0, 'the polled change');
    expect(await source.read()).toBe('{"polled":1}');
  });

  it('tells an edit made between the read and the start of watching (the poll compares with the file as read)', async () => {
    const file = path.join(newFolder(), 'sentcopy.config.json');
    writeFileSync(file, '{"first":1}');
    const source = createFileConfigSource({ file, watch: false, pollIntervalMs: 50 });
    expect(await source.read()).toBe('{"first":1}');
    saveByRename(file, '{"meanwhile":1}');
    let changes = 0;
    stops.push(source.watch(() => (changes += 1)));
    await eventually(() => changes > 0, 'the edit made before watching');
    expect(await source.read()).toBe('{"meanwhile":1}');
  });

  it('tells nothing once stopped', async () => {
    const { file, changes, stop } = await follow('{"first":1}', { pollIntervalMs: 50, debounceMs: 10 });
    stop();
    writeFileSync(file, '{"after":1}');
    saveByRename(file, '{"after":2}');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(changes()).toBe(0);
  });
});

describe('createFileConfigSource: a watch that cannot start', () => {
  let fixture: string | undefined;
  beforeAll(async () => {
    fixture = await buildFixture('file-source-no-descriptors');
  });
  afterAll(() => removeFixture(fixture));

  it('logs config.watch_failed with the reason and the file, and still tells the edit by polling', async () => {
    const file = path.join(newFolder(), 'sentcopy.config.json');
    writeFileSync(file, '{"first":1}');
    // A hard limit, so node cannot raise it again at start-up.
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('sh', ['-c', `ulimit -n 128 && exec "${process.execPath}" "$0" "$1"`, fixture!, file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    if (result.code !== 0 && /ulimit/.test(result.stderr)) {
      console.log(`skipped: this machine does not let the test lower the descriptor limit (${result.stderr.trim()})`);
      return;
    }
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(result.stdout) as { held: number; before: string; after: string; changes: number; logged: LogEntry[] };
    expect(report.held).toBeGreaterThan(0);
    expect(report.before).toBe('{"first":1}');
    expect(report.logged).toEqual([
      {
        level: 'warn',
        event: 'config.watch_failed',
        message: expect.stringMatching(/^Cannot watch the configuration file \(EMFILE: too many open files, watch.*\); changes are picked up by polling\.$/),
        file,
      },
    ]);
    expect(report.changes).toBeGreaterThan(0);
    expect(report.after).toBe('edited while unwatched');
  });
});
