/** Deterministic PRNG (mulberry32), so every run tests the same bytes. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();

export const emptyJson = encoder.encode('{}');

export const smsJson = encoder.encode(JSON.stringify({ id: 'sms_01J9Z3KQ7Y', to: '+15551234567', from: 'ExampleCo', sentAt: '2026-03-23T09:00:00Z', body: 'Your ExampleCo code is 482913. It expires in 10 minutes.' }));

/** A ~30 KB marketing email JSON: product rows in tables with inline CSS and tracked links, plus a text part. */
export function emailJson(targetBytes = 30_000, seed = 7): Uint8Array {
  const next = seededRandom(seed);
  const rows: string[] = [];
  const lines: string[] = [];
  let size = 0;
  for (let index = 0; size < targetBytes * 0.8; index++) {
    const sku = `SKU-${Math.floor(next() * 1e6)}`;
    const price = (5 + next() * 195).toFixed(2);
    const url = `https://shop.example.com/p/${sku}?utm_source=newsletter&utm_campaign=spring&row=${index}`;
    const row =
      `<tr><td style="padding:12px;border-bottom:1px solid #eee"><a href="${url}"><img src="https://cdn.example.com/${sku}.jpg" width="80" alt=""></a></td>` +
      `<td style="font-family:Helvetica,Arial,sans-serif;font-size:15px;color:#333"><a href="${url}" style="color:#1a73e8">Item ${sku}</a></td>` +
      `<td align="right" style="font-family:Helvetica,Arial,sans-serif;color:#d93025">$${price}</td></tr>`;
    rows.push(row);
    lines.push(`Item ${sku} - $${price} ${url}`);
    size += row.length + 60;
  }
  return encoder.encode(
    JSON.stringify({
      messageId: '<spring.8f3a9c@mail.example.com>',
      from: 'news@example.com',
      to: ['alex.doe@example.org'],
      subject: 'Spring sale',
      html: `<!DOCTYPE html><html><body style="margin:0;background:#f4f4f4"><table width="600">${rows.join('')}</table></body></html>`,
      text: lines.join('\n'),
    }),
  );
}

export const allByteValues = Uint8Array.from({ length: 256 }, (_, index) => index);

export const nonAsciiJson = encoder.encode(JSON.stringify({ subject: 'Grüße aus Köln — ¡Oferta! 日本語のメール 🎉📦', body: 'שלום עולם · Ελληνικά · e\u0301 · \u{1F468}\u200D\u{1F469}\u200D\u{1F467}', name: 'Zoë Ångström' }));

let randomishCache: Uint8Array | undefined;

/**
 * 25 MB of random-ish bytes: stretches of noise, runs, text and copies of earlier stretches (far
 * and near), so compressors take every path: stored blocks, long matches, literals.
 */
export function randomish25MB(): Uint8Array {
  if (randomishCache) return randomishCache;
  const bytes = new Uint8Array(25_000_000);
  const next = seededRandom(25);
  const text = encoder.encode('The quick brown fox jumps over the lazy dog. ');
  let index = 0;
  while (index < bytes.length) {
    const length = Math.min(bytes.length - index, 1 + Math.floor(next() * 20_000));
    const kind = Math.floor(next() * 4);
    for (let offset = 0; offset < length; offset++) {
      const at = index + offset;
      if (kind === 0) bytes[at] = Math.floor(next() * 256);
      else if (kind === 1) bytes[at] = 0x41 + (Math.floor(index / 7) % 26);
      else if (kind === 2) bytes[at] = text[at % text.length]!;
      else bytes[at] = index > 70_000 ? bytes[at - 1 - Math.floor((index * 31) % 70_000)]! : Math.floor(next() * 256);
    }
    index += length;
  }
  randomishCache = bytes;
  return bytes;
}

/** Word salad from a small vocabulary: many short matches, so matches land near every block end. */
export function wordSalad(length: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  const words = Array.from({ length: 2000 }, () => Math.floor(next() * 1e9).toString(36));
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const word = `${words[Math.floor(next() * words.length)]!} `;
    parts.push(word);
    size += word.length;
  }
  return encoder.encode(parts.join('')).subarray(0, length);
}

export const samples: readonly (readonly [name: string, bytes: () => Uint8Array])[] = [
  ['empty JSON {}', () => emptyJson],
  ['160-byte SMS JSON', () => smsJson],
  ['~30 KB HTML email JSON', () => emailJson()],
  ['all byte values 0..255', () => allByteValues],
  ['non-ASCII text JSON', () => nonAsciiJson],
  ['25 MB random-ish bytes', randomish25MB],
];
