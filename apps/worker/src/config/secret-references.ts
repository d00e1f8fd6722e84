import type { ValidationIssue } from '@sentcopy/core';
import { joinPath } from './schema-check.js';
import type { SecretReference } from './worker-config.js';

/** One `{ "env": … }` reference in a configuration, with the path of the field holding it. */
export interface SecretReferenceAt {
  /** JSON path of the field, e.g. `destinations.prod.secret_access_key`. */
  readonly path: string;
  /** Name of the environment variable. */
  readonly env: string;
}

const isReference = (value: unknown): value is SecretReference => typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && typeof (value as { env?: unknown }).env === 'string';

/**
 * The secret settings of each destination, as dotted paths (those its descriptor marks `x-secret`);
 * `undefined` for a destination whose descriptor is not known, whose references are then found by shape.
 */
export type DestinationSecretSettings = (destination: string) => readonly string[] | undefined;

/**
 * Every secret reference in a validated configuration (the schema allows them only in secret
 * fields). With `secretSettings`, a destination's references are exactly its descriptor's secret
 * settings, so a package's own object that happens to look like `{ "env": … }` is not mistaken for one.
 */
export function listSecretReferences(config: unknown, secretSettings?: DestinationSecretSettings): SecretReferenceAt[] {
  const found: SecretReferenceAt[] = [];
  const walk = (value: unknown, path: string) => {
    if (isReference(value)) found.push({ path, env: value.env });
    else if (Array.isArray(value)) value.forEach((item, index) => walk(item, joinPath(path, index)));
    else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (path === '' && key === 'destinations' && typeof child === 'object' && child !== null) walkDestinations(child as Record<string, unknown>);
        else walk(child, joinPath(path, key));
      }
    }
  };
  const walkDestinations = (destinations: Record<string, unknown>) => {
    for (const [name, entry] of Object.entries(destinations)) {
      const at = joinPath('destinations', name);
      const secrets = secretSettings?.(name);
      if (secrets === undefined) {
        walk(entry, at);
        continue;
      }
      for (const setting of secrets) {
        const value = setting.split('.').reduce<unknown>((node, part) => (typeof node === 'object' && node !== null && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined), entry);
        if (isReference(value)) found.push({ path: setting.split('.').reduce(joinPath, at), env: value.env });
      }
    }
  };
  walk(config, '');
  return found;
}

/** The problem of an unset variable: names the field and the variable, never a value. */
export const unsetVariableProblem = (env: string): string => `reads the environment variable ${env}, which is not set (or empty)`;

/** One issue per secret reference whose environment variable is unset or empty (see {@link listSecretReferences} for `secretSettings`). */
export function checkSecretReferences(config: unknown, env: NodeJS.ProcessEnv, secretSettings?: DestinationSecretSettings): ValidationIssue[] {
  return listSecretReferences(config, secretSettings)
    .filter((reference) => (env[reference.env] ?? '') === '')
    .map((reference) => ({ path: reference.path, problem: unsetVariableProblem(reference.env) }));
}

/** Reads a secret reference; `undefined` when the reference is absent. Throws when the variable is unset (validation checks that first). */
export function readSecret(reference: SecretReference | undefined, field: string, env: NodeJS.ProcessEnv): string | undefined {
  if (reference === undefined) return undefined;
  const value = env[reference.env];
  if (value === undefined || value === '') throw new Error(`${field}: ${unsetVariableProblem(reference.env)}`);
  return value;
}
