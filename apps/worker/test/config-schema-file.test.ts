// The published schema file is generated from the first-party destination descriptors; this test keeps the two identical.
// SENTCOPY_WRITE_SCHEMA=1 rewrites the file instead of comparing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { destinationDescriptor as azure } from '@sentcopy/destination-azure';
import { destinationDescriptor as fs } from '@sentcopy/destination-fs';
import { destinationDescriptor as gcs } from '@sentcopy/destination-gcs';
import { destinationDescriptor as s3 } from '@sentcopy/destination-s3';
import { buildWorkerConfigJsonSchema } from '../src/config/index.js';
import { understoodSchemaKeywords } from '../src/config/schema-check.js';

const schemaFile = fileURLToPath(new URL('../schema/worker-config-v1.schema.json', import.meta.url));
// The published file describes the first-party destinations; any other type is a package name its own package describes.
const workerConfigJsonSchema = buildWorkerConfigJsonSchema([fs, s3, azure, gcs]);
const expected = `${JSON.stringify(workerConfigJsonSchema, null, 2)}\n`;

/** Every keyword used anywhere in a schema (the names under `properties` are data, not keywords). */
function keywordsOf(schema: unknown, found = new Set<string>()): Set<string> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return found;
  for (const [keyword, value] of Object.entries(schema)) {
    found.add(keyword);
    if (keyword === 'properties') for (const child of Object.values(value as object)) keywordsOf(child, found);
    else if (keyword === 'oneOf') for (const child of value as unknown[]) keywordsOf(child, found);
    else if (keyword !== 'const' && keyword !== 'enum') keywordsOf(value, found);
  }
  return found;
}

describe('apps/worker/schema/worker-config-v1.schema.json', () => {
  it('is exactly workerConfigJsonSchema, and published in the package', () => {
    if (process.env['SENTCOPY_WRITE_SCHEMA'] === '1') {
      mkdirSync(dirname(schemaFile), { recursive: true });
      writeFileSync(schemaFile, expected);
    }
    let actual: string | undefined;
    try {
      actual = readFileSync(schemaFile, 'utf8');
    } catch {
      actual = undefined;
    }
    if (actual !== expected) expect.fail(`${schemaFile} is out of date. Refresh it with: SENTCOPY_WRITE_SCHEMA=1 npx vitest run apps/worker/test/config-schema-file.test.ts`);
    const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    expect(manifest.exports['./schema/worker-config-v1.schema.json']).toBe('./schema/worker-config-v1.schema.json');
    expect(manifest.files).toContain('schema');
  });

  it('uses only keywords the runtime validator enforces, so the file and the worker accept the same configurations', () => {
    const unknown = [...keywordsOf(workerConfigJsonSchema)].filter((keyword) => !understoodSchemaKeywords.includes(keyword));
    expect(unknown).toEqual([]);
  });
});
