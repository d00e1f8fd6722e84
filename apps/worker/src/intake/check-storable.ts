import { identifierText, MessageValidationError, rawMimeDerivedMarker, stringifyJson, validateMessage, type Archiver, type Channel, type PreparedObject } from '@sentcopy/core';
import type { ProjectDirectory, ProjectRoute } from '../projects/index.js';
import type { MessageQueue, QueueMessageInput } from '../queue/index.js';
import { entryProblem } from '../queue/queue-checks.js';
import { fieldErrors, HttpProblemError, type FieldError, type IntakeReport } from './intake-answer.js';
import type { IntakeRejection } from './intake-options.js';
import { completeForIntake } from './raw-mime-intake.js';

/** What checking messages before they are accepted needs. */
export interface StorableCheckOptions {
  readonly queue: MessageQueue;
  readonly directory: ProjectDirectory;
  /** limits.max_message_bytes. */
  readonly maxMessageBytes: number;
  readonly report: IntakeReport;
}

/** A message that may be stored: its channel, ids, and (`completed`) the message to queue when fields were read from its raw MIME. */
type Storable = { ok: true; channel: Channel; messageId: string; projectId: string; completed?: unknown } | { ok: false; errors: FieldError[] };

/** A message of a batch, checked: the entry to queue, or why it is refused. */
export type CheckedMessage = { ok: true; channel: Channel; input: QueueMessageInput } | { ok: false; reason: IntakeRejection; errors: FieldError[]; channel?: Channel };

/** The checks that refuse what cannot be stored before it is acknowledged: the project's destination, the message's fields, profile and key, its project and channel, its size, and what the queue takes. */
export interface StorableChecks {
  /** Refuses (409, counted) a request for a project without a destination. */
  requireDestination(route: ProjectRoute): void;
  /** The project's archiver, to run its checks; `undefined` when it cannot be built (validation alone then guards the queue). */
  checkerFor(route: ProjectRoute): Archiver | undefined;
  /**
   * Validates a message and renders its key as the project's archiver would (its `check()`, which
   * also reads an email's absent `to`, `sent_at` and `message_id` from its raw MIME headers, as
   * `prepare()` will): field errors when it cannot be stored.
   */
  storable(value: unknown, archiver: Archiver | undefined): Promise<Storable>;
  /**
   * Checks one message of a batch, cheapest first: its size (before any validation, so a huge
   * message costs no validation), then what the project's archiver checks (fields, profile, key),
   * the project and channel, and what the queue checks. Never throws for a bad message.
   */
  checkMessage(value: unknown, route: ProjectRoute, archiver: Archiver | undefined): Promise<CheckedMessage>;
  /**
   * The queue entry that records a message the gate stores: the same text the batch intake would
   * queue (the fields read from raw MIME included), so archiving it again stores the same object.
   */
  gateRecord(body: unknown, prepared: PreparedObject, route: ProjectRoute): { ok: true; input: QueueMessageInput } | { ok: false; reason: IntakeRejection; errors: FieldError[] };
}

/** Why a valid message may not enter this project (wrong project, channel not archived), if it may not. */
export function routeProblem(projectId: string, channel: Channel, route: ProjectRoute): { reason: IntakeRejection; errors: FieldError[] } | undefined {
  if (projectId !== route.id) return { reason: 'wrong_project', errors: [{ field: 'project_id', problem: `must be the project of the API key used: this key belongs to project "${route.id}"` }] };
  if (!route.channels.includes(channel)) return { reason: 'channel_disabled', errors: [{ field: 'channel', problem: `is not archived for this project (enabled: ${route.channels.join(', ')})` }] };
  return undefined;
}

/** Creates the checks for `options.queue` and the projects of `options.directory`. */
export function createStorableChecks({ queue, directory, maxMessageBytes, report }: StorableCheckOptions): StorableChecks {
  const messageTooLarge = (bytes: number): FieldError => ({
    field: '',
    problem: `the message is ${bytes} bytes of JSON, more than limits.max_message_bytes (${maxMessageBytes} bytes); raise that setting in the worker's configuration to archive messages this large`,
  });

  /** Why the queue cannot hold a message of this size, naming the setting to raise. */
  const queueTooLarge = (bytes: number): FieldError => ({
    field: '',
    problem:
      queue.implementation === 'jetstream'
        ? `the message is ${bytes} bytes of JSON; the JetStream queue holds at most ${queue.maxPayloadBytes} bytes per message (nats-server's max_payload less room for headers): raise max_payload in the NATS server's configuration`
        : `the message is ${bytes} bytes of JSON; the ${queue.implementation} queue holds at most ${queue.maxPayloadBytes} bytes per message (its maxPayloadBytes option)`,
  });

  /** What the queue refuses of an entry (`verb`: what it cannot be), as the reason and errors of a refusal; `undefined` when it takes it. */
  const queueProblem = (input: QueueMessageInput, bytes: number, verb: string): { reason: IntakeRejection; errors: FieldError[] } | undefined => {
    const refused = entryProblem(input, queue.maxPayloadBytes);
    if (refused === undefined) return undefined;
    if (refused.tooLarge) return { reason: 'too_large', errors: [queueTooLarge(bytes)] };
    const field = refused.field === 'messageId' ? 'message_id' : refused.field === 'project' ? 'project_id' : '';
    return { reason: 'invalid', errors: [{ field, problem: `${verb}: ${refused.problem}` }] };
  };

  const storable: StorableChecks['storable'] = async (value, archiver) => {
    if (archiver === undefined) {
      const completion = await completeForIntake(value);
      if (!completion.ok) return { ok: false, errors: fieldErrors(completion.issues) };
      const result = validateMessage(completion.value);
      if (!result.ok) return { ok: false, errors: fieldErrors(result.issues) };
      const message = result.message;
      return { ok: true, channel: message.channel, messageId: identifierText(message.message_id), projectId: identifierText(message.project_id), ...(completion.value === value ? {} : { completed: completion.value }) };
    }
    try {
      const checked = await archiver.check(value);
      const derived = Object.hasOwn(checked.message, rawMimeDerivedMarker);
      return { ok: true, channel: checked.channel, messageId: checked.messageId, projectId: checked.projectId, ...(derived ? { completed: checked.message } : {}) };
    } catch (error) {
      if (MessageValidationError.isInstance(error)) return { ok: false, errors: fieldErrors(error.issues) };
      throw error;
    }
  };

  return {
    storable,

    requireDestination(route) {
      if (route.destinationId === undefined) {
        report.emit({ type: 'rejected', project: route.id, reason: 'no_destination' });
        throw new HttpProblemError(409, 'no_destination', `Project "${route.id}" has no destination (it was deleted or never set), so its messages are refused. Connect a destination to the project and send again.`);
      }
    },

    checkerFor(route) {
      try {
        return directory.archiverFor(route.id, 'check');
      } catch (error) {
        // Configuration validation makes this unreachable; should it happen, validation alone still guards the queue.
        report.log('warn', 'intake.checker_unavailable', `The archiver of project "${route.id}" could not be built; messages are validated without its profile and key checks.`, {
          project: route.id,
          error: error instanceof Error ? error.name : typeof error,
        });
        return undefined;
      }
    },

    async checkMessage(value, route, archiver) {
      // The body was parsed once; stringifying an element gives text that parses back to the same values (validation
      // refuses the only values that would not survive: non-finite numbers and lone surrogates). Only the spelling may
      // differ (white space, escapes, `1e2` → `100`, key order), and none of it reaches the stored copy, which is the
      // deterministic serialization of those values: the same bytes as if the sender's own text had been queued.
      let text: string;
      try {
        // Numbers a double cannot hold were parsed as JsonNumbers, which stringifyJson writes as their exact text.
        text = stringifyJson(value);
      } catch {
        // Only nesting deep enough to exhaust the stack gets here; validation would refuse it too.
        return { ok: false, reason: 'invalid', errors: [{ field: '', problem: 'nests too deeply to be read' }] };
      }
      let bytes = Buffer.byteLength(text);
      if (bytes > maxMessageBytes) return { ok: false, reason: 'too_large', errors: [messageTooLarge(bytes)] };
      const result = await storable(value, archiver);
      if (!result.ok) return { ok: false, reason: 'invalid', errors: result.errors };
      const problem = routeProblem(result.projectId, result.channel, route);
      if (problem !== undefined) return { ok: false, channel: result.channel, ...problem };
      if (result.completed !== undefined) {
        // A few fields read from the raw MIME headers: the stored copy carries them, so the limit applies to it.
        text = stringifyJson(result.completed);
        bytes = Buffer.byteLength(text);
        if (bytes > maxMessageBytes) return { ok: false, reason: 'too_large', channel: result.channel, errors: [messageTooLarge(bytes)] };
      }
      const input: QueueMessageInput = { project: route.id, messageId: result.messageId, payload: text };
      const refused = queueProblem(input, bytes, 'cannot be queued');
      if (refused !== undefined) return { ok: false, channel: result.channel, ...refused };
      return { ok: true, channel: result.channel, input };
    },

    gateRecord(body, prepared, route) {
      const text = stringifyJson(Object.hasOwn(prepared.message, rawMimeDerivedMarker) ? prepared.message : body);
      const input: QueueMessageInput = { project: route.id, messageId: prepared.messageId, payload: text };
      const refused = queueProblem(input, Buffer.byteLength(text), 'cannot be recorded in the queue');
      return refused === undefined ? { ok: true, input } : { ok: false, ...refused };
    },
  };
}
