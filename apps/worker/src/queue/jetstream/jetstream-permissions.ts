import { jetStreamNames } from './jetstream-names.js';

/** The NATS subjects a user may publish to and subscribe to, in a server's `permissions` block. */
export interface NatsPermissions {
  /** Subjects it may publish to (`publish: { allow: [...] }`). */
  readonly publish: readonly string[];
  /** Subjects it may subscribe to (`subscribe: { allow: [...] }`). */
  readonly subscribe: readonly string[];
}

/**
 * Everything a worker of the deployment `name` needs on the NATS server, and nothing more: its own
 * streams, consumers and buckets (queue, held, dead letters, discarded dead letters, queued and archived ids, the
 * configuration and the workers' reports on it), acks of its own consumers, and replies in its inbox. Give producers and other
 * users none of these subjects: a user who may publish to `<name>.>` or `$KV.<name>-*` can forge
 * archived content or make a message id answer `duplicate`. See docs/cluster.md.
 */
export function workerPermissions(name = 'sentcopy'): NatsPermissions {
  const names = jetStreamNames(name);
  const streams = [names.queueStream, names.heldStream, names.deadStream, names.discardedStream, `KV_${names.queuedBucket}`, `KV_${names.archivedBucket}`, `KV_${name}-config`, `KV_${name}-worker-status`];
  return {
    publish: [
      '$JS.API.INFO',
      ...streams.flatMap((stream) => [
        `$JS.API.STREAM.*.${stream}`,
        `$JS.API.STREAM.MSG.*.${stream}`,
        `$JS.API.DIRECT.GET.${stream}`,
        `$JS.API.DIRECT.GET.${stream}.>`,
        `$JS.API.CONSUMER.*.${stream}`,
        `$JS.API.CONSUMER.*.${stream}.>`,
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.>`,
        `$JS.ACK.${stream}.>`,
      ]),
      '$JS.FC.>',
      `${name}.>`,
      `$KV.${names.queuedBucket}.>`,
      `$KV.${names.archivedBucket}.>`,
      `$KV.${name}-config.>`,
      `$KV.${name}-worker-status.>`,
    ],
    subscribe: ['_INBOX.>'],
  };
}
