import { Readable, Transform } from 'node:stream';
import { encodeRawMime } from '@sentcopy/core';
import { attemptArchive, type AttemptResult } from './archive-client.js';
import type { ArchiveFailedEvent, ArchiveWithOptions } from './archive-options.js';
import { SendHeldError } from './send-held-error.js';
import { smtpLineEnds } from './smtp-line-ends.js';

/** The parts of a nodemailer `MailMessage` this package reads (nodemailer 10). */
export interface MailLike {
  readonly data: Record<string, unknown>;
  readonly message: {
    createReadStream(...args: unknown[]): Readable;
    messageId(): string;
    getEnvelope(): { from?: string | false; to?: string[] };
    getAddresses(): { to?: unknown[]; cc?: unknown[] };
  };
}

/** The part of a nodemailer transporter this package hooks: its transport's `send(mail, callback)`. */
export interface TransporterLike {
  // `never` parameters: any transport's own typed send fits; it is called with nodemailer's MailMessage.
  readonly transporter: { send(mail: never, callback: never): void; name?: string };
}

type SendCallback = (error: Error | null, info?: unknown) => void;
type TransportSend = (mail: MailLike, callback: SendCallback) => void;

/** What {@link archiveWith} returns: the archiving attached to a transporter. */
export interface ArchivingTransporter {
  /** Messages sent and not yet archived (after-send mode). */
  readonly pending: number;
  /** Resolves once every message sent so far is archived or reported failed. */
  flush(): Promise<void>;
  /** Detaches from the transporter (later sends are not archived) and waits like `flush()`. */
  close(): Promise<void>;
}

const hooked = Symbol.for('sentcopy.nodemailer.hooked');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** The SMTP queue id in a server's answer ("250 2.0.0 Ok: queued as 4dWz1X0ZkVz", "250 OK id=1a2b3c"). */
export function queueIdOf(response: unknown): string | undefined {
  if (typeof response !== 'string') return undefined;
  const match = /\bqueued as\s+([A-Za-z0-9._:@-]+)/i.exec(response) ?? /\bid=([A-Za-z0-9._:@-]+)/i.exec(response);
  return match?.[1];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Archives the exact MIME of every message `transporter` sends, as one email with `raw_mime` per
 * message: the bytes the transport reads (after DKIM signing, if any) and, for SMTP transports,
 * with the CRLF line ends nodemailer's SMTP connection puts on the wire: the bytes the mail server
 * receives. `to`, `sent_at` and `message_id` are read from the message's headers by sentcopy
 * (To/Cc/Bcc, Date, Message-ID), except that a message addressed only by Bcc is keyed by the
 * envelope's first recipient.
 *
 * - after-send (default): once the transport accepted the message, the copy is sent in the
 *   background with the transport's answer in `delivery` (`response`, `queue_id`,
 *   `message_id`, `accepted`, `rejected`, `envelope`); failures are retried in memory and reported
 *   through `onArchiveFailed`.
 * - gate: the copy is stored first; when it cannot be, the message is not sent and `sendMail`
 *   fails with a {@link SendHeldError}.
 *
 * @example
 * const transporter = nodemailer.createTransport({ host: 'smtp.example.com' });
 * const archiving = archiveWith(transporter, { worker: { url: 'http://127.0.0.1:8787', apiKey }, projectId: 'shop' });
 * await transporter.sendMail({ from, to, subject, html });
 * await archiving.flush(); // before the process exits
 */
export function archiveWith(transporter: TransporterLike, options: ArchiveWithOptions): ArchivingTransporter {
  const transport = transporter.transporter as unknown as { send: TransportSend; name?: string };
  if (typeof transport?.send !== 'function') throw new TypeError('archiveWith needs a nodemailer transporter (from nodemailer.createTransport()).');
  if (typeof options.projectId !== 'string' || options.projectId === '') throw new TypeError('archiveWith: projectId must be a non-empty string.');
  if ((options.worker === undefined) === (options.archiver === undefined)) throw new TypeError('archiveWith: give one of worker ({ url, apiKey }) and archiver.');
  if ((transport as unknown as Record<symbol, unknown>)[hooked] === true) throw new TypeError('archiveWith: this transporter is already archived; call close() on the first archiveWith first.');
  const mode = options.mode ?? 'after-send';
  if (mode !== 'after-send' && mode !== 'gate') throw new TypeError(`archiveWith: mode must be "after-send" or "gate".`);
  const retryForMs = options.retryForMs ?? 24 * 60 * 60 * 1000;
  const maxPendingBytes = options.maxPendingBytes ?? 256 * 1024 * 1024;
  const gateAttempts = options.gateAttempts ?? 3;
  const onFailed =
    options.onArchiveFailed ??
    ((event: ArchiveFailedEvent) => {
      if (event.final) process.stderr.write(`sentcopy: a sent message was NOT archived (message_id ${event.messageId ?? 'unknown'}): ${event.reason}\n`);
    });

  const originalSend = transport.send;
  const send = (mail: MailLike, callback: (error: Error | null, info?: unknown) => void) => originalSend.call(transport, mail, callback);
  // SMTP transports put CRLF line ends on the wire; the copy is made of the bytes the server receives.
  const wireBytes = /^SMTP/i.test(transport.name ?? '') ? smtpLineEnds : (bytes: Buffer) => bytes;
  const inFlight = new Set<Promise<void>>();
  let pendingBytes = 0;
  let closed = false;

  function messageFor(mail: MailLike, bytes: Buffer, info?: Record<string, unknown>): Record<string, unknown> {
    const extra = options.fields?.(mail.data) ?? {};
    const message: Record<string, unknown> = { ...extra, version: 1, channel: 'email', project_id: options.projectId, raw_mime: encodeRawMime(bytes) };
    const addresses = mail.message.getAddresses();
    const envelope = mail.message.getEnvelope();
    // Bcc recipients are not in the MIME nodemailer sends; without a To or Cc the envelope is the only recipient there is.
    if ((addresses.to ?? []).length === 0 && (addresses.cc ?? []).length === 0 && message['to'] === undefined && envelope.to?.[0] !== undefined) message['to'] = envelope.to[0];
    if (info !== undefined) {
      const queueId = queueIdOf(info['response']);
      message['delivery'] = {
        ...(transport.name === undefined ? {} : { transport: transport.name }),
        ...(typeof info['messageId'] === 'string' ? { message_id: info['messageId'] } : {}),
        ...(typeof info['response'] === 'string' ? { response: info['response'] } : {}),
        ...(queueId === undefined ? {} : { queue_id: queueId }),
        ...(Array.isArray(info['accepted']) ? { accepted: info['accepted'].map(String) } : {}),
        ...(Array.isArray(info['rejected']) ? { rejected: info['rejected'].map(String) } : {}),
        envelope: { from: envelope.from || '', to: envelope.to ?? [] },
      };
    }
    return message;
  }

  const idOf = (mail: MailLike) => {
    try {
      return mail.message.messageId().replace(/^<|>$/g, '');
    } catch {
      return undefined;
    }
  };

  async function archiveInBackground(mail: MailLike, bytes: Buffer, info: Record<string, unknown>): Promise<void> {
    const messageId = idOf(mail);
    const report = (result: Extract<AttemptResult, { ok: false }>, final: boolean) => {
      try {
        onFailed({ ...(messageId === undefined ? {} : { messageId }), reason: result.reason, final, error: result.error });
      } catch {
        // A failing hook must not stop the retries.
      }
    };
    let message: Record<string, unknown>;
    try {
      message = messageFor(mail, bytes, info);
    } catch (error) {
      report({ ok: false, retry: false, reason: `the copy could not be built (${error instanceof Error ? error.message : 'unexpected error'})`, error }, true);
      return;
    }
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const result = await attemptArchive(options, message, false);
      if (result.ok) {
        options.onArchived?.({ messageId: messageId ?? '', attempts: attempt });
        return;
      }
      const giveUp = !result.retry || Date.now() - started >= retryForMs;
      report(result, giveUp);
      if (giveUp) return;
      // Full jitter, capped at a minute: an outage costs a retry a minute per message, not a storm.
      await delay(Math.random() * Math.min(60_000, 250 * 2 ** Math.min(attempt, 12)));
    }
  }

  function track(task: Promise<void>): void {
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  }

  function sendAfter(mail: MailLike, callback: (error: Error | null, info?: unknown) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let complete = false;
    const createReadStream = mail.message.createReadStream.bind(mail.message);
    // The copy is what the transport reads, chunk for chunk (after DKIM and any other processing): what the server receives.
    mail.message.createReadStream = (...args: unknown[]) => {
      chunks.length = 0;
      size = 0;
      complete = false;
      const source = createReadStream(...args);
      const tee = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          chunks.push(bytes);
          size += bytes.length;
          done(null, bytes);
        },
        flush(done) {
          complete = true;
          done();
        },
      });
      source.on('error', (error) => tee.destroy(error));
      return source.pipe(tee);
    };
    send(mail, (error, info) => {
      if (!error && !closed) {
        if (!complete) {
          const reason = 'the transport accepted the message without reading all of it, so its bytes are unknown';
          try {
            onFailed({ ...(idOf(mail) === undefined ? {} : { messageId: idOf(mail) as string }), reason, final: true, error: new Error(reason) });
          } catch {
            // reported as well as it can be
          }
        } else if (pendingBytes + size > maxPendingBytes) {
          const reason = `more than maxPendingBytes (${maxPendingBytes}) of sent messages are waiting to be archived`;
          try {
            onFailed({ ...(idOf(mail) === undefined ? {} : { messageId: idOf(mail) as string }), reason, final: true, error: new Error(reason) });
          } catch {
            // reported as well as it can be
          }
        } else {
          const bytes = wireBytes(Buffer.concat(chunks, size));
          pendingBytes += bytes.length;
          track(archiveInBackground(mail, bytes, (info ?? {}) as Record<string, unknown>).finally(() => (pendingBytes -= bytes.length)));
        }
      }
      callback(error, info);
    });
  }

  function sendGated(mail: MailLike, callback: (error: Error | null, info?: unknown) => void): void {
    const task = (async () => {
      const bytes = wireBytes(await readAll(mail.message.createReadStream()));
      const message = messageFor(mail, bytes);
      let last: AttemptResult = { ok: false, retry: false, reason: 'no attempt was made' };
      for (let attempt = 1; attempt <= gateAttempts; attempt++) {
        last = await attemptArchive(options, message, true);
        if (last.ok || !last.retry) break;
        if (attempt < gateAttempts) await delay(100 * 4 ** (attempt - 1));
      }
      if (!last.ok) throw new SendHeldError(last.reason, { cause: last.error });
      // The transport sends the very bytes that were archived (the message's own streams are spent).
      mail.message.createReadStream = () => Readable.from([bytes]);
      return undefined;
    })();
    task.then(
      () => send(mail, callback),
      (error: unknown) => callback(SendHeldError.isInstance(error) ? error : new SendHeldError(`the message could not be read (${error instanceof Error ? error.message : 'unexpected error'})`, { cause: error })),
    );
  }

  const hookedSend = (mail: MailLike, callback: (error: Error | null, info?: unknown) => void) => {
    if (closed) return send(mail, callback);
    if (mode === 'gate') return sendGated(mail, (error, info) => (error ? callback(error) : callback(null, info)));
    return sendAfter(mail, callback);
  };
  Object.defineProperty(transport, 'send', { value: hookedSend, writable: true, configurable: true });
  Object.defineProperty(transport, hooked, { value: true, configurable: true });

  // Retry timers do not hold the process open; a process that exits with copies in hand says so.
  const onExit = () => {
    if (inFlight.size > 0) process.stderr.write(`sentcopy: ${inFlight.size} sent message(s) were NOT archived: the process exited before their copies were stored (call flush() before exiting)\n`);
  };
  process.on('exit', onExit);

  async function flush(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  }

  return {
    get pending() {
      return inFlight.size;
    },
    flush,
    async close() {
      closed = true;
      process.off('exit', onExit);
      // The transport's own method lives on its prototype: removing the hook restores it.
      delete (transport as { send?: unknown }).send;
      if (transport.send !== originalSend) Object.defineProperty(transport, 'send', { value: originalSend, writable: true, configurable: true });
      delete (transport as unknown as Record<symbol, unknown>)[hooked];
      await flush();
    },
  };
}
