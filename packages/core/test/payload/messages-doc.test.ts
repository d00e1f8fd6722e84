// docs/messages.md must match the code: every example in it is a valid message, and its limits are core's.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultMaxBatchMessages, defaultMaxBodyBytes, defaultMaxMessageBytes } from '../../src/limits/index.js';
import { messageJsonSchema, parseJson, validateMessage } from '../../src/payload/index.js';
import { isValid } from './mini-json-schema.js';

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/messages.md', import.meta.url)), 'utf8');
const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1]!);

describe('docs/messages.md', () => {
  it('has a complete example of each known channel, each accepted by the validator and the JSON Schema', () => {
    expect(examples.map((text) => (parseJson(text) as { channel: string }).channel)).toEqual(['email', 'sms', 'push', 'whatsapp']);
    for (const text of examples) {
      const value = parseJson(text);
      const result = validateMessage(value);
      expect(result.ok ? [] : result.issues).toEqual([]);
      expect(isValid(messageJsonSchema as Record<string, unknown>, messageJsonSchema as Record<string, unknown>, value)).toBe(true);
    }
  });

  it('states the default limits core defines', () => {
    expect(doc).toContain(`${defaultMaxMessageBytes.toLocaleString('en-US')} bytes`);
    expect(doc).toContain(`${defaultMaxBodyBytes.toLocaleString('en-US')} bytes`);
    expect(doc).toContain(`| messages in one batch | ${defaultMaxBatchMessages.toLocaleString('en-US')} |`);
  });
});
