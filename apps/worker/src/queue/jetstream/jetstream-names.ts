import { createHash } from 'node:crypto';
import { QueueError } from '../queue-error.js';

/** Names of everything one queue deployment keeps on the NATS server. */
export interface JetStreamNames {
  /** The deployment name every other name derives from. */
  readonly deployment: string;
  /** Work-queue stream of messages ready to be archived (or claimed). */
  readonly queueStream: string;
  /** Work-queue stream of messages waiting for a later time (retries, releases with a not-before). */
  readonly heldStream: string;
  /** Stream of dead letters: records and, beside each, its payload. */
  readonly deadStream: string;
  /** Stream of the records discarded dead letters leave (no payload), kept for good. */
  readonly discardedStream: string;
  /** The durable pull consumer every worker claims from. */
  readonly consumer: string;
  /** The durable pull consumer that moves held messages back to the queue when they are due. */
  readonly scheduler: string;
  /** Key-value bucket with one entry per queued message (de-duplication while it is queued). */
  readonly queuedBucket: string;
  /** Key-value bucket of archived ids, kept for the de-duplication window. */
  readonly archivedBucket: string;
  /** Subject of a project's ready messages (`project` omitted: all of them). */
  queueSubject(project?: string): string;
  /** Subject of a project's held messages (`project` omitted: all of them). */
  heldSubject(project?: string): string;
  /** Subject of a project's dead-letter records (`project` omitted: all of them). */
  deadRecordSubject(project?: string): string;
  /** Subject of a project's dead-letter payloads (`project` omitted: all of them). */
  deadPayloadSubject(project?: string): string;
  /** Subject of a project's discarded dead-letter records (`project` omitted: all of them). */
  discardedSubject(project?: string): string;
}

const validName = /^[A-Za-z0-9_-]{1,64}$/;

/** Derives every name from the deployment name (`sentcopy` by default). */
export function jetStreamNames(name: string): JetStreamNames {
  if (!validName.test(name)) throw new QueueError('invalid_input', 'name must be 1 to 64 letters, digits, "-" or "_".');
  const upper = name.toUpperCase();
  const token = (project: string | undefined) => (project === undefined ? '*' : projectToken(project));
  return {
    deployment: name,
    queueStream: `${upper}_QUEUE`,
    heldStream: `${upper}_HELD`,
    deadStream: `${upper}_DEAD`,
    discardedStream: `${upper}_DISCARDED`,
    consumer: `${name}-workers`,
    scheduler: `${name}-scheduler`,
    queuedBucket: `${name}-queued`,
    archivedBucket: `${name}-archived`,
    queueSubject: (project) => `${name}.queue.${token(project)}`,
    heldSubject: (project) => `${name}.held.${token(project)}`,
    deadRecordSubject: (project) => `${name}.dead.record.${token(project)}`,
    deadPayloadSubject: (project) => `${name}.dead.payload.${token(project)}`,
    discardedSubject: (project) => `${name}.discarded.${token(project)}`,
  };
}

/** A project as one subject token (and key-value key segment): its UTF-8 bytes in base64url. */
export function projectToken(project: string): string {
  return Buffer.from(project, 'utf8').toString('base64url');
}

/**
 * The key of a message id: the project token and a hash of project and message id. Every version
 * of the message (another content under the same id) shares it; the queue's id of one version
 * adds the version (see `message-identity.ts`).
 */
export function messageKey(project: string, messageId: string): string {
  const digest = createHash('sha256').update(project).update('\0').update(messageId).digest('base64url').slice(0, 32);
  return `${projectToken(project)}.${digest}`;
}

/**
 * The project a message key or queue id belongs to (a key with or without its version), or
 * `undefined` for a string that is not one.
 */
export function projectOfKey(key: string): string | undefined {
  const match = /^([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{32}(?:\.[A-Za-z0-9_-]{32})?$/.exec(key);
  return match === null ? undefined : Buffer.from(match[1]!, 'base64url').toString('utf8');
}

/** The project a subject token stands for, or `undefined` for a token that is not one. */
export function projectOfToken(token: string): string | undefined {
  return /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
}
