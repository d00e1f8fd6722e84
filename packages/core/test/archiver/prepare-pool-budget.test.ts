import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createArchiver, createPreparePool, type DestinationV1 } from '../../src/index.js';

const destination = { specificationVersion: 'v1', provider: 'none', id: 'none', capabilities: { delete: false, immutability: false, publicAccessCheck: false } } as unknown as DestinationV1;

/** An email with an attachment of `size` random bytes, as the JSON bytes a queue hands to prepare(). */
const emailBytes = (id: string, size: number) =>
  new TextEncoder().encode(
    JSON.stringify({
      version: 1,
      channel: 'email',
      message_id: id,
      project_id: 'shop',
      sent_at: Date.UTC(2026, 0, 1),
      to: 'ana@example.net',
      subject: 'Invoice',
      attachments: [{ file_name: 'a.pdf', content_type: 'application/pdf', bytes: randomBytes(size).toString('base64') }],
    }),
  );

describe('prepare pool: bytes in flight', () => {
  it('prepares at most maxBytesInFlight bytes of input at once (one larger message alone), in order, with the same objects as the calling thread', async () => {
    const pool = createPreparePool({ threads: 2, maxBytesInFlight: 3_000_000 });
    try {
      const pooled = createArchiver({ destination, layout: 'sentcopy-unkeyed', preparePool: pool, retry: false });
      const here = createArchiver({ destination, layout: 'sentcopy-unkeyed', retry: false });
      const inputs = [...Array.from({ length: 8 }, (_, index) => emailBytes(`m-${index}`, 1_000_000)), emailBytes('big', 4_000_000)];
      const sizes = inputs.map((input) => input.byteLength);
      let peak = 0;
      let sampling = true;
      const sample = () => {
        peak = Math.max(peak, pool.bytesInFlight());
        if (sampling) setImmediate(sample);
      };
      sample();
      const order: string[] = [];
      const prepared = await Promise.all(inputs.map((input) => pooled.prepare(input).then((object) => (order.push(object.messageId), object))));
      sampling = false;
      // Two ~1.3 MB messages fit in 3 MB, never three; the 5.3 MB one went alone.
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(Math.max(3_000_000, sizes[8]!));
      expect(order.indexOf('big')).toBe(8);
      expect(pool.bytesInFlight()).toBe(0);
      for (const [index, input] of inputs.entries()) {
        const expected = await here.prepare(input);
        expect({ key: prepared[index]!.key, sha256: prepared[index]!.contentSha256 }).toEqual({ key: expected.key, sha256: expected.contentSha256 });
      }
      // What was sampled while the budget held two at most.
      expect(peak).toBeLessThanOrEqual(sizes[8]!);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('refuses a budget that is not a whole number of bytes', () => {
    expect(() => createPreparePool({ maxBytesInFlight: 0 })).toThrow(/maxBytesInFlight must be a whole number of bytes/);
  });
});
