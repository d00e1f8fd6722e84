// The published schema file is generated from messageJsonSchema; this test keeps the two identical.
// SENTCOPY_WRITE_SCHEMA=1 rewrites the file instead of comparing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { messageJsonSchema } from '../../src/payload/index.js';

const schemaFile = fileURLToPath(new URL('../../schema/message-v1.schema.json', import.meta.url));
const packageFile = fileURLToPath(new URL('../../package.json', import.meta.url));
const refreshCommand = 'SENTCOPY_WRITE_SCHEMA=1 npx vitest run packages/core/test/payload/schema-file.test.ts';
const expected = `${JSON.stringify(messageJsonSchema, null, 2)}\n`;

function readSchemaFile(): string | undefined {
  try {
    return readFileSync(schemaFile, 'utf8');
  } catch {
    return undefined;
  }
}

describe('packages/core/schema/message-v1.schema.json', () => {
  it('is exactly messageJsonSchema, 2-space indented with a trailing newline', () => {
    if (process.env['SENTCOPY_WRITE_SCHEMA'] === '1') {
      mkdirSync(dirname(schemaFile), { recursive: true });
      writeFileSync(schemaFile, expected);
    }
    const actual = readSchemaFile();
    if (actual !== expected) {
      expect.fail(`${schemaFile} is ${actual === undefined ? 'missing' : 'out of date with messageJsonSchema'}. ` + `Refresh it from the repository root with: ${refreshCommand}`);
    }
  });

  it('is published: listed in the package exports and files', () => {
    const manifest = JSON.parse(readFileSync(packageFile, 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    expect(manifest.exports['./schema/message-v1.schema.json']).toBe('./schema/message-v1.schema.json');
    expect(manifest.files).toContain('schema');
  });
});
