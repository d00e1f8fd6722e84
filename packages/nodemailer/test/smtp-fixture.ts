// A real SMTP server (smtp-server) on 127.0.0.1 and a random port, keeping every message exactly as received.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

/** One message the server received. */
export interface ReceivedMessage {
  readonly bytes: Buffer;
  readonly queueId: string;
  readonly recipients: string[];
}

export interface SmtpFixture {
  readonly port: number;
  /** Received messages by Message-ID (without angle brackets). */
  readonly received: Map<string, ReceivedMessage>;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<SmtpFixture> {
  const received = new Map<string, ReceivedMessage>();
  let counter = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 50 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const header = bytes.subarray(0, bytes.indexOf('\r\n\r\n')).toString('latin1');
        const messageId = /^Message-ID:\s*<([^>]+)>/im.exec(header)?.[1] ?? `no-id-${counter}`;
        const queueId = `Q${(++counter).toString(36).toUpperCase()}`;
        received.set(messageId, { bytes, queueId, recipients: session.envelope.rcptTo.map((entry) => entry.address) });
        callback(null, `2.0.0 Ok: queued as ${queueId}`);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
