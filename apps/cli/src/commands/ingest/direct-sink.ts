import { projectKeyLayout } from '@sentcopy/worker';
import { loadRecipientKey } from '../../archive/archive-source.js';
import { recipientKeyRequired } from '../../archive/layout-reader.js';
import { ArchiveError, createArchiver, RecipientKeyError, createPreparePool, MessageValidationError, formatIssues, type Archiver, type Channel, type DestinationV1, type PreparePool } from '@sentcopy/core';
import { CliError, exitCodes, type LoadedConfig, openDestination } from '../../cli-kit/index.js';
import type { CheckedLine } from './check-line.js';
import { createTaskLimiter, type IngestSink, type IngestTally } from './ingest-sink.js';

/** Options for {@link createDirectSink}. */
export interface DirectSinkOptions {
  /** The configuration: each message goes to the destination of its `project_id`'s project. */
  readonly loaded: LoadedConfig;
  /** Archives in flight at once. */
  readonly concurrency: number;
  /** Threads preparing messages (validate, render, compress, hash); 0 prepares on the main thread. @default the pool's default */
  readonly threads?: number;
  readonly tally: IngestTally;
}

type ProjectTarget = { readonly ok: true; readonly archiver: Archiver; readonly channels: readonly Channel[] } | { readonly ok: false; readonly reason: 'unknown_project' | 'no_destination'; readonly error: string };

/**
 * Archives checked lines straight into the configured destinations with core's archiver (the same
 * bytes and keys the worker would write), preparing them on a pool of threads.
 */
export function createDirectSink(options: DirectSinkOptions): IngestSink {
  const { loaded, tally } = options;
  // A thread that cannot start costs speed, not messages (the pool prepares here meanwhile); say so once.
  let threadWarned = false;
  const onThreadError = (error: Error) => {
    if (threadWarned) return;
    threadWarned = true;
    process.stderr.write(`sentcopy: ${error.message} Preparing on the main thread instead (slower; nothing is lost).\n`);
  };
  const pool: PreparePool | undefined = options.threads === 0 ? undefined : createPreparePool({ onThreadError, ...(options.threads === undefined ? {} : { threads: options.threads }) });
  const limiter = createTaskLimiter(options.concurrency);
  const destinations = new Map<string, Promise<DestinationV1>>();
  const targets = new Map<string, Promise<ProjectTarget>>();
  let recipientKeyOnce: Promise<string | undefined> | undefined;

  function destination(name: string): Promise<DestinationV1> {
    let opened = destinations.get(name);
    if (opened === undefined) {
      opened = (async () => {
        const created = await openDestination(loaded, name);
        // The probe refuses what the worker would refuse: unreachable, not writable, or public.
        const probe = await created.probe();
        if (!probe.ok) {
          const failed = probe.checks.filter((check) => check.status === 'failed').map((check) => `${check.name}: ${check.detail ?? 'failed'}`);
          throw new CliError(`Destination "${name}" failed its probe, so nothing was written to it (${failed.join('; ') || 'the probe failed'}).`, {
            exitCode: exitCodes.unavailable,
            code: 'destination_unavailable',
            hint: `Fix the destination (\`sentcopy destinations probe ${name}\` shows every check), then run again.`,
          });
        }
        return created;
      })();
      destinations.set(name, opened);
    }
    return opened;
  }

  function target(projectId: string): Promise<ProjectTarget> {
    let found = targets.get(projectId);
    if (found === undefined) {
      found = (async (): Promise<ProjectTarget> => {
        const project = Object.hasOwn(loaded.config.projects, projectId) ? loaded.config.projects[projectId] : undefined;
        if (project === undefined) {
          return { ok: false, reason: 'unknown_project', error: `project_id: no project with this id in ${loaded.file} (configured: ${Object.keys(loaded.config.projects).join(', ') || 'none'})` };
        }
        if (project.destination === undefined) return { ok: false, reason: 'no_destination', error: `project_id: project "${projectId}" has no destination; connect one in ${loaded.file}` };
        // The worker's rule, so the same message gets the same key however it arrives.
        const layout = projectKeyLayout(loaded.config, project);
        const recipientKey = await (recipientKeyOnce ??= loadRecipientKey(loaded));
        let archiver: Archiver;
        try {
          archiver = createArchiver({
            destination: await destination(project.destination),
            ...(project.profile === undefined ? {} : { profile: project.profile }),
            layout,
            ...(recipientKey === undefined ? {} : { recipientKey }),
            ...(project.codec === undefined ? {} : { codec: project.codec }),
            ...(pool === undefined ? {} : { preparePool: pool }),
          });
        } catch (error) {
          if (RecipientKeyError.isInstance(error) && error.reason === 'missing') throw recipientKeyRequired('Archiving into this layout');
          throw error;
        }
        return { ok: true, archiver, channels: project.channels };
      })();
      targets.set(projectId, found);
    }
    return found;
  }

  async function archive(line: CheckedLine): Promise<void> {
    const found = await target(line.projectId);
    if (!found.ok) {
      tally.rejected(
        { ...(line.file === undefined ? {} : { file: line.file }), line: line.line, reason: found.reason, error: found.error, issues: [{ path: 'project_id', problem: found.error.replace(/^project_id: /, '') }], message_id: line.messageId },
        line.text,
      );
      return;
    }
    if (!found.channels.includes(line.channel)) {
      const problem = `is not archived for project "${line.projectId}" (enabled: ${found.channels.join(', ')})`;
      tally.rejected({ ...(line.file === undefined ? {} : { file: line.file }), line: line.line, reason: 'channel_disabled', error: `channel: ${problem}`, issues: [{ path: 'channel', problem }], message_id: line.messageId }, line.text);
      return;
    }
    try {
      // JSON bytes: parsed and prepared on the pool's threads.
      const result = await found.archiver.archive(Buffer.from(line.text, 'utf8'));
      if (result.created) tally.taken(line);
      else tally.duplicate(line);
    } catch (error) {
      if (MessageValidationError.isInstance(error)) {
        tally.rejected({ ...(line.file === undefined ? {} : { file: line.file }), line: line.line, reason: 'invalid', error: `Invalid message: ${formatIssues(error.issues)}`, issues: error.issues, message_id: line.messageId }, line.text);
        return;
      }
      if (ArchiveError.isInstance(error) && error.kind === 'conflict') {
        tally.rejected(
          {
            ...(line.file === undefined ? {} : { file: line.file }),
            line: line.line,
            reason: 'conflict',
            error: `A different copy of this message is already stored under ${error.key}; write-once keeps the first.`,
            issues: [],
            message_id: line.messageId,
          },
          line.text,
        );
        return;
      }
      if (ArchiveError.isInstance(error)) {
        throw new CliError(`Archiving line ${line.line} failed: ${error.reason}`, {
          exitCode: error.kind === 'invalid' ? exitCodes.failure : exitCodes.unavailable,
          code: 'failed_to_archive',
          hint: 'Fix the destination, then run again: copies already stored count as duplicates.',
          cause: error,
        });
      }
      throw error;
    }
  }

  return {
    submit: (line) => limiter.run(() => archive(line)),
    finish: () => limiter.drain(),
    async close() {
      await pool?.close();
      for (const opened of destinations.values()) {
        const created = await opened.catch(() => undefined);
        await created?.close?.();
      }
    },
  };
}
