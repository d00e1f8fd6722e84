import { gzipSync } from 'node:zlib';
import type { ConformanceCheck, ConformanceContext } from '../conformance-check.js';
import { pickEntries, putInput, sha256Hex, utf8 } from '../fixtures.js';
import type { PutObjectInput } from '@sentcopy/core';

function allByteValues(): Uint8Array {
  const body = new Uint8Array(1024);
  for (let index = 0; index < body.length; index++) body[index] = index < 512 ? index % 256 : 255 - (index % 256);
  return body;
}

function realisticGzipBody(): Uint8Array {
  const message = {
    schema: 'sentcopy.message/v1',
    messageId: '<20240101120000.1234@mail.example.com>',
    subject: 'Your invoice — Grüße, 請求書 😀',
    text: 'Hello,\n\nplease find attached.\n'.repeat(40),
    attachments: [{ filename: 'invoice.pdf', size: 48213, sha256: 'ab'.repeat(32) }],
  };
  return new Uint8Array(gzipSync(JSON.stringify(message)));
}

async function expectStoredExactly({ destination, backdoor, expect }: ConformanceContext, input: PutObjectInput): Promise<void> {
  const metadata = input.metadata ?? {};
  const names = Object.keys(metadata);
  const expected = {
    sha256: input.sha256,
    size: input.body.byteLength,
    contentType: input.contentType,
    contentEncoding: input.contentEncoding,
    metadata,
  };

  const result = await destination.put(input);
  expect({ ...result }, `put(${input.key}) result`).toEqual({ key: input.key, created: true, size: expected.size, sha256: expected.sha256 });

  const landed = await backdoor.readObject(input.key);
  expect(landed !== undefined, 'the back door finds the object').toBe(true);
  expect(
    {
      sha256OfBytes: sha256Hex(landed?.body ?? new Uint8Array()),
      size: landed?.body.byteLength,
      recordedSha256: landed?.sha256,
      contentType: landed?.contentType,
      contentEncoding: landed?.contentEncoding,
      metadata: pickEntries(landed?.metadata, names),
    },
    'what really landed',
  ).toEqual({ sha256OfBytes: expected.sha256, size: expected.size, recordedSha256: expected.sha256, contentType: expected.contentType, contentEncoding: expected.contentEncoding, metadata });

  const got = await destination.get(input.key);
  expect(got && { key: got.key, sha256OfBytes: sha256Hex(got.body), size: got.size, sha256: got.sha256, contentType: got.contentType, contentEncoding: got.contentEncoding, metadata: got.metadata }, 'get() of the stored object').toEqual({
    key: input.key,
    sha256OfBytes: expected.sha256,
    ...expected,
  });

  const head = await destination.head(input.key);
  expect(head && { key: head.key, size: head.size, sha256: head.sha256, contentType: head.contentType, contentEncoding: head.contentEncoding, metadata: head.metadata }, 'head() of the stored object').toEqual({
    key: input.key,
    ...expected,
  });
  const lastModified = head?.lastModified;
  expect(lastModified === undefined || (lastModified instanceof Date && !Number.isNaN(lastModified.getTime())), 'head().lastModified is absent or a valid Date').toBe(true);
}

/** Checks of the `roundtrip` group. */
export const roundtripChecks: readonly ConformanceCheck[] = [
  {
    name: 'declares the v1 contract consistently',
    async run({ destination, expect }) {
      expect(destination.specificationVersion, 'specificationVersion').toBe('v1');
      expect(typeof destination.provider === 'string' && destination.provider.length > 0, 'provider is a non-empty string').toBe(true);
      expect(typeof destination.id === 'string' && destination.id.length > 0, 'id is a non-empty string').toBe(true);
      expect(typeof destination.delete === 'function', 'delete() is present exactly when capabilities.delete is true').toBe(destination.capabilities.delete);
    },
  },
  {
    name: 'stores every byte value with its content type, encoding, metadata and SHA-256',
    async run(context) {
      await expectStoredExactly(context, putInput(`${context.prefix}all-bytes.bin`, allByteValues(), { metadata: { 'message-id': 'abc-123', 'schema-version': '1' } }));
    },
  },
  {
    name: 'stores a gzip-encoded JSON body byte for byte',
    async run(context) {
      await expectStoredExactly(
        context,
        putInput(`${context.prefix}message.json.gz`, realisticGzipBody(), {
          contentType: 'application/json',
          contentEncoding: 'gzip',
          metadata: { 'sentcopy-format': 'message-v1' },
        }),
      );
    },
  },
  {
    name: 'stores an empty body',
    async run(context) {
      await expectStoredExactly(context, putInput(`${context.prefix}empty`, new Uint8Array(), { contentType: 'text/plain' }));
    },
  },
  {
    name: 'get() and head() of an absent key return undefined',
    async run({ destination, expect, prefix }) {
      await destination.put(putInput(`${prefix}present/child`, utf8('here')));
      for (const key of [`${prefix}absent`, `${prefix}no/such/key`, `${prefix}present`, `${prefix}present/other`]) {
        expect(await destination.get(key), `get(${key})`).toBe(undefined);
        expect(await destination.head(key), `head(${key})`).toBe(undefined);
      }
    },
  },
];
