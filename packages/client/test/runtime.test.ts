import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const source = (file: string) => readFileSync(fileURLToPath(new URL(`../src/${file}`, import.meta.url)), 'utf8');

describe('the library runs wherever fetch does', () => {
  it('imports nothing outside itself and uses no Node.js-only global', () => {
    for (const file of ['index.ts', 'sentcopy-client.ts', 'errors.ts', 'backoff.ts', 'client-options.ts', 'results.ts']) {
      const text = source(file)
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      const imports = [...source(file).matchAll(/from '([^']+)'/g)].map((match) => match[1]);
      expect(
        imports.filter((specifier) => !specifier?.startsWith('./')),
        file,
      ).toEqual([]);
      expect(text, file).not.toMatch(/\bBuffer\.|\bprocess\.|\brequire\(|__dirname|setImmediate\(/);
    }
  });
});
