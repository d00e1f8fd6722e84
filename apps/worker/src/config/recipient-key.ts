import { compileKeyLayout, getProfile, KeyLayoutError, RecipientKeyError, type ValidationIssue } from '@sentcopy/core';
import { joinPath } from './schema-check.js';
import { readSecret } from './secret-references.js';
import type { ProjectConfig, WorkerConfig } from './worker-config.js';

/** The environment variable `sentcopy init` and the worker's first run reference for `recipient_hash_key`. */
export const defaultRecipientKeyVariable = 'SENTCOPY_RECIPIENT_KEY';

const minimumBytes = 16;

/**
 * The key layout a project writes with (a template or preset name), the one rule shared by the
 * worker and the CLI: the project's `layout`, else its profile's; for the `sentcopy` profile that
 * is the keyed `sentcopy` layout when the configuration has `recipient_hash_key`, and the unkeyed
 * layout of earlier versions (`sentcopy-unkeyed`) when it has not, so an older configuration
 * keeps writing where its messages already are.
 */
export function projectKeyLayout(config: Pick<WorkerConfig, 'recipient_hash_key'>, project: Pick<ProjectConfig, 'profile' | 'layout'>): string {
  if (project.layout !== undefined) return project.layout;
  const profile = project.profile ?? 'sentcopy';
  if (profile === 'sentcopy' && config.recipient_hash_key === undefined) return 'sentcopy-unkeyed';
  return getProfile(profile).layout;
}

/** Projects that use the unkeyed sentcopy layout only because the configuration has no `recipient_hash_key`. */
export function projectsOnUnkeyedDefault(config: WorkerConfig): string[] {
  if (config.recipient_hash_key !== undefined) return [];
  return Object.entries(config.projects)
    .filter(([, project]) => project.layout === undefined && (project.profile ?? 'sentcopy') === 'sentcopy')
    .map(([id]) => id);
}

/** The warning the worker logs at each load while {@link projectsOnUnkeyedDefault} is not empty. Names projects, never a value. */
export function unkeyedDefaultWarning(projects: readonly string[]): string {
  return (
    `Project(s) ${projects.map((id) => `"${id}"`).join(', ')} store recipients as a plain SHA-256 in object keys (layout sentcopy-unkeyed), ` +
    'which anyone who can list the bucket can reverse for phone numbers in seconds. Add "recipient_hash_key": { "env": "SENTCOPY_RECIPIENT_KEY" } ' +
    'with a secret of 32 random bytes to key new messages with HMAC-SHA-256 (older ones stay where they are; see docs/key-layouts-and-profiles.md), ' +
    'or set "layout": "sentcopy-unkeyed" on the project to keep the unkeyed layout without this warning.'
  );
}

/**
 * Reads the secret `recipient_hash_key` names from `env`; `undefined` when the configuration has
 * none. Throws (naming the field and the variable, never the value) when the variable is unset.
 */
export function readRecipientKey(config: Pick<WorkerConfig, 'recipient_hash_key'>, env: NodeJS.ProcessEnv): string | undefined {
  return readSecret(config.recipient_hash_key, 'recipient_hash_key', env);
}

/**
 * What the schema cannot say about the recipient key: a project layout that uses
 * `{hmac(recipient)}` needs `recipient_hash_key`, and (with `env`) the secret must be at least 16
 * bytes. Problems name fields and variables, never values.
 */
export function checkRecipientKey(config: WorkerConfig, env: NodeJS.ProcessEnv | undefined): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [id, project] of Object.entries(config.projects)) {
    if (project.layout === undefined) continue;
    try {
      compileKeyLayout(project.layout);
    } catch (error) {
      if (KeyLayoutError.isInstance(error)) continue;
      if (!RecipientKeyError.isInstance(error)) throw error;
      if (config.recipient_hash_key === undefined) {
        issues.push({
          path: `${joinPath(joinPath('projects', id), 'layout')}`,
          problem: `uses {hmac(recipient)}, which needs the deployment's secret: add "recipient_hash_key": { "env": "${defaultRecipientKeyVariable}" } (at least 16 bytes, e.g. \`openssl rand -base64 32\`), or use the layout sentcopy-unkeyed`,
        });
      }
    }
  }
  const reference = config.recipient_hash_key;
  if (reference !== undefined && env !== undefined) {
    const value = env[reference.env];
    if (value === undefined || value === '') {
      // checkSecretReferences reports it with every other reference.
    } else if (Buffer.byteLength(value, 'utf8') < minimumBytes) {
      issues.push({
        path: 'recipient_hash_key',
        problem: `reads the environment variable ${reference.env}, which holds ${Buffer.byteLength(value, 'utf8')} byte(s); the secret must be at least ${minimumBytes} (32 random bytes are recommended)`,
      });
    }
  }
  return issues;
}
