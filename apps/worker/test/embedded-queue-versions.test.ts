import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, type EmbeddedQueue } from '../src/index.js';
import { describeQueueVersionBehaviour } from './queue-version-behaviour.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('queue-versions');

describeQueueVersionBehaviour('embedded', { open: () => createEmbeddedQueue({ directory: newFolder() }) });

// The store format 1 schema, as sentcopy wrote it before versions: what an upgrade finds on disk.
const formatOne = `
CREATE TABLE payloads (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL);
CREATE TABLE queue (id INTEGER PRIMARY KEY, project TEXT NOT NULL, message_id TEXT NOT NULL, enqueued_at INTEGER NOT NULL, available_at INTEGER NOT NULL,
  lease_id TEXT, deliveries INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, first_attempt_at INTEGER, last_attempt_at INTEGER, history TEXT NOT NULL DEFAULT '[]');
CREATE UNIQUE INDEX queue_message ON queue (project, message_id);
CREATE INDEX queue_ready ON queue (available_at, id);
CREATE INDEX queue_age ON queue (enqueued_at);
CREATE INDEX queue_leased ON queue (lease_id) WHERE lease_id IS NOT NULL;
CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, project TEXT NOT NULL, message_id TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, issues TEXT NOT NULL,
  attempts INTEGER NOT NULL, first_attempt_at INTEGER, last_attempt_at INTEGER, enqueued_at INTEGER NOT NULL, dead_at INTEGER NOT NULL, deliveries INTEGER NOT NULL, history TEXT NOT NULL);
CREATE INDEX dead_letters_time ON dead_letters (dead_at, id);
CREATE TABLE recent_acks (project TEXT NOT NULL, message_id TEXT NOT NULL, acked_at INTEGER NOT NULL, PRIMARY KEY (project, message_id)) WITHOUT ROWID;
CREATE INDEX recent_acks_time ON recent_acks (acked_at);
PRAGMA user_version = 1;
`;

describe('embedded queue store format 2', () => {
  const opened: EmbeddedQueue[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((queue) => queue.close()));
  });

  it('upgrades a format 1 store in place: queued messages and dead letters keep their bytes and compare by payload', async () => {
    const directory = newFolder();
    const now = Date.now();
    const db = new Database(path.join(directory, 'queue.db'));
    db.exec(formatOne);
    db.prepare('INSERT INTO payloads (id, body) VALUES (?, ?)').run(1, Buffer.from('{"old":"queued"}'));
    db.prepare('INSERT INTO queue (id, project, message_id, enqueued_at, available_at) VALUES (1, ?, ?, ?, ?)').run('acme', 'old-1', now, now);
    db.prepare('INSERT INTO payloads (id, body) VALUES (?, ?)').run(2, Buffer.from('{"old":"dead"}'));
    db.prepare("INSERT INTO dead_letters (id, project, message_id, kind, reason, issues, attempts, enqueued_at, dead_at, deliveries, history) VALUES (2, 'acme', 'old-2', 'conflict', 'was a conflict', '[]', 1, ?, ?, 1, '[]')").run(now, now);
    db.prepare('INSERT INTO recent_acks (project, message_id, acked_at) VALUES (?, ?, ?)').run('acme', 'old-3', now);
    db.close();

    const queue = await createEmbeddedQueue({ directory });
    opened.push(queue);
    expect(await queue.stats()).toMatchObject({ depth: 1, deadLetters: 1 });
    // The queued row has no recorded hash: its payload is hashed to tell a resend from a version.
    expect((await queue.enqueue([{ project: 'acme', messageId: 'old-1', payload: '{"old":"queued"}' }]))[0]).toEqual({ status: 'duplicate', id: '1' });
    expect((await queue.enqueue([{ project: 'acme', messageId: 'old-1', payload: '{"new":"content"}' }]))[0]).toMatchObject({ status: 'accepted', version: true });
    // An ack remembered without a hash cannot tell: the message is accepted again (the archive answers "already stored").
    expect((await queue.enqueue([{ project: 'acme', messageId: 'old-3', payload: '{}' }]))[0]).toMatchObject({ status: 'accepted' });
    const discarded = await queue.discardDeadLetters({ ids: ['2'] }, 'migrated test');
    expect(discarded).toEqual({ discarded: 1, ids: ['2'] });
    const [record] = (await queue.listDiscardedDeadLetters()).items;
    expect(record).toMatchObject({ messageId: 'old-2', payloadSha256: createHash('sha256').update('{"old":"dead"}').digest('hex'), payloadBytes: 14 });
    const claimed = await queue.claim({ limit: 10 });
    expect(claimed.map((message) => Buffer.from(message.payload).toString('utf8'))).toEqual(['{"old":"queued"}', '{"new":"content"}', '{}']);
    await queue.close();
    opened.pop();
    const after = new Database(path.join(directory, 'queue.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(2);
    after.close();
  });
});
