import { createHash } from 'node:crypto';
import { QueueError } from '../queue-error.js';

/** Names of everything one queue deployment keeps on the NATS server. */
export interface JetStreamNames {
  /** Work-queue stream of messages waiting to be archived. */
  readonly queueStream: string;
  /** Stream of dead letters (record and payload). */
  readonly deadStream: string;
  /** The durable pull consumer every worker shares. */
  readonly consumer: string;
  /** Key-value bucket of per-message state (attempts, schedule), one key per queued message. */
  readonly stateBucket: string;
  /** Key-value bucket of archived ids, kept for the de-duplication window. */
  readonly archivedBucket: string;
  /** Subject of a project's queued messages (`project` omitted: all of them). */
  queueSubject(project?: string): string;
  /** Subject of a project's dead letters (`project` omitted: all of them). */
  deadSubject(project?: string): string;
}

const validName = /^[A-Za-z0-9_-]{1,64}$/;

/** Derives every name from the deployment name (`sentcopy` by default). */
export function jetStreamNames(name: string): JetStreamNames {
  if (!validName.test(name)) throw new QueueError('invalid_input', 'name must be 1 to 64 letters, digits, "-" or "_".');
  const upper = name.toUpperCase();
  return {
    queueStream: `${upper}_QUEUE`,
    deadStream: `${upper}_DEAD`,
    consumer: `${name}-workers`,
    stateBucket: `${name}-state`,
    archivedBucket: `${name}-archived`,
    queueSubject: (project) => `${name}.queue.${project === undefined ? '>' : projectToken(project)}`,
    deadSubject: (project) => `${name}.dead.${project === undefined ? '>' : projectToken(project)}`,
  };
}

/** A project as one subject token (and key-value key segment): its UTF-8 bytes in base64url. */
export function projectToken(project: string): string {
  return Buffer.from(project, 'utf8').toString('base64url');
}

/**
 * The queue's id for a message: the project token and a hash of project and message id. Stable, so
 * a message keeps its id through retries, hurries and replays, and doubles as its state key.
 */
export function messageKey(project: string, messageId: string): string {
  const digest = createHash('sha256').update(project).update('\0').update(messageId).digest('base64url').slice(0, 32);
  return `${projectToken(project)}.${digest}`;
}

/** The project a message key belongs to, or `undefined` for a string that is not one. */
export function projectOfKey(key: string): string | undefined {
  const match = /^([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{32}$/.exec(key);
  return match === null ? undefined : Buffer.from(match[1]!, 'base64url').toString('utf8');
}
