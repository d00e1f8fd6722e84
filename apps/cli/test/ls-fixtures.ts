// Shared by the ls, show and verify tests: messages with known recipients, campaigns and dates,
// archived with the real archiver.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createArchiver, type DestinationV1, type ProfileName } from '@sentcopy/core';
import { writeRecipientKeyEnvFile } from './ingest-fixture.js';
import type { CliRun } from './run-cli.js';

/** Parses a run's stdout as JSON, with the run in the error when it is not. */
export function json<T = Record<string, unknown>>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

export const ana = 'Ana.Garcia@Example.com';
export const ben = 'ben.okafor@example.com';
export const phone = '+1 (555) 010-0100';
export const otherPhone = '+44 20 7946 0000';
export const pushToken = 'f3c1a9e0d7b84c2e9a6b5d4c3b2a1f0e9d8c7b6a';

const day = (date: string) => Date.parse(`${date}T09:30:00Z`);

/** A sample email body with a link, an entity and a paragraph, to check the text rendering and `open`. */
export const emailHtml =
  '<html><head><style>p{color:red}</style></head><body><p>Hi Ana,</p><p>Your order <strong>SC-1</strong> has shipped &amp; is on its way.</p><p><a href="https://shop.example.com/track/1">Track it</a></p></body></html>';

/**
 * 24 messages of project `shop`: emails to Ana and Ben, SMS and WhatsApp to two numbers, push to
 * one token; campaigns `spring`, `summer` or none; sent on 2026-01-05, 2026-01-20 or 2026-02-10.
 */
export function sampleArchiveMessages(projectId = 'shop'): Record<string, unknown>[] {
  const dates = ['2026-01-05', '2026-01-20', '2026-02-10'];
  const campaigns = ['spring', 'summer', undefined];
  const messages: Record<string, unknown>[] = [];
  for (let index = 0; index < 24; index += 1) {
    const base = {
      version: 1,
      message_id: `m-${String(index).padStart(3, '0')}`,
      project_id: projectId,
      sent_at: day(dates[index % 3]!) + index * 1000,
      ...(campaigns[Math.floor(index / 2) % 3] === undefined ? {} : { campaign_id: campaigns[Math.floor(index / 2) % 3] }),
    };
    switch (index % 6) {
      case 0:
        messages.push({ ...base, channel: 'email', to: ana, from_name: 'Example Shop', from_address: 'orders@shop.example.com', subject: `Order SC-${index} shipped`, html_body: emailHtml, cc: [ben] });
        break;
      case 1:
        messages.push({ ...base, channel: 'email', to: ben, subject: `Hello Ben ${index}`, html_body: `<p>Hello Ben, message ${index}</p>`, plaintext_body: `Hello Ben, message ${index}` });
        break;
      case 2:
        messages.push({ ...base, channel: 'sms', to: phone, body: `Your code is ${100000 + index}`, provider: 'twilio' });
        break;
      case 3:
        messages.push({ ...base, channel: 'whatsapp', to: phone, body: `WhatsApp ${index}` });
        break;
      case 4:
        messages.push({ ...base, channel: 'sms', to: otherPhone, body: `Other ${index}` });
        break;
      default:
        messages.push({ ...base, channel: 'push', to: pushToken, platform: 'ios', payload: { aps: { alert: `Push ${index}` } } });
    }
  }
  return messages;
}

/** One archived message: its key and the message it came from. */
export interface ArchivedMessage {
  readonly key: string;
  readonly sha256: string;
  readonly message: Record<string, unknown>;
}

/** Archives `messages` with the real archiver and the given profile (its layout and codec). */
export async function archiveMessages(destination: DestinationV1, profile: ProfileName, messages: readonly Record<string, unknown>[]): Promise<ArchivedMessage[]> {
  const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, profile, retry: false });
  const archived: ArchivedMessage[] = [];
  for (const message of messages) {
    const result = await archiver.archive(message);
    archived.push({ key: result.key, sha256: result.sha256, message });
  }
  return archived;
}

/** Writes `sentcopy.config.json` into `folder`, referencing the test recipient key kept in the env file beside it. */
export function writeConfigFile(folder: string, config: Record<string, unknown>): string {
  const file = path.join(folder, 'sentcopy.config.json');
  writeFileSync(file, `${JSON.stringify({ version: 1, recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' }, ...config }, null, 2)}\n`);
  writeRecipientKeyEnvFile(file);
  return file;
}

/** An fs destination entry for the config. */
export const fsEntry = (root: string) => ({ type: 'fs', root, acknowledge_personal_data: true });

/** Environment variables holding the S3 test credentials (the config names them). */
export const s3Env = { SENTCOPY_TEST_S3_KEY: 'AKIASENTCOPYTEST0001', SENTCOPY_TEST_S3_SECRET: 'sentcopy-test-secret-key-do-not-use-0000001' };

/** An S3 destination entry for the config, aimed at the test server. */
export const s3Entry = (endpoint: string, bucket: string) => ({
  type: 's3',
  bucket,
  region: 'us-east-1',
  endpoint,
  force_path_style: true,
  access_key_id: { env: 'SENTCOPY_TEST_S3_KEY' },
  secret_access_key: { env: 'SENTCOPY_TEST_S3_SECRET' },
  request_checksum_calculation: 'WHEN_REQUIRED',
  acknowledge_personal_data: true,
});

/** S3 destination settings for the archiver in the test process. */
export const s3Settings = (endpoint: string, bucket: string) => ({
  bucket,
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: s3Env.SENTCOPY_TEST_S3_KEY, secretAccessKey: s3Env.SENTCOPY_TEST_S3_SECRET },
  requestChecksumCalculation: 'WHEN_REQUIRED' as const,
});
