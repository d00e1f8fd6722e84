import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { compileKeyLayout, KeyLayoutError, RecipientKeyError, resolveRetryPolicy, type RetryPolicy, type RetryPolicyOverrides, type ValidationIssue } from '@sentcopy/core';
import { ConfigError } from './config-error.js';
import { checkRecipientKey } from './recipient-key.js';
import { checkSchema, joinPath } from './schema-check.js';
import { checkSecretReferences } from './secret-references.js';
import type { DestinationConfig, RetryConfig, WorkerConfig } from './worker-config.js';
import { workerConfigJsonSchema } from './worker-config-schema.js';

/** What {@link validateConfig} found. */
export type ConfigValidationResult = { readonly ok: true; readonly config: WorkerConfig } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

/** Options for {@link validateConfig}, {@link parseConfigText} and {@link loadConfigFile}. */
export interface ValidateConfigOptions {
  /**
   * When given, every `{ "env": … }` reference must name a variable set (and not empty) here; an
   * unset one is a problem naming the field and the variable. Leave it out to check a file meant
   * for another machine. @default references are not resolved
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The configuration is shared by a cluster of workers (kept in its key-value bucket): relative
   * paths are refused, since every worker would resolve them against its own folder and the
   * archive would be split between machines. @default false
   */
  readonly shared?: boolean;
}

const camel = (name: string) => name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

function mapKeys(record: object | undefined): Record<string, unknown> | undefined {
  return record === undefined ? undefined : Object.fromEntries(Object.entries(record).map(([key, value]) => [camel(key), value]));
}

/** The retry policy a configuration asks for: core's default with the file's `retry` overrides. */
export function retryPolicyFromConfig(retry: RetryConfig | undefined): RetryPolicy {
  const overrides = { rateLimited: mapKeys(retry?.rate_limited), outage: mapKeys(retry?.outage) };
  return resolveRetryPolicy(JSON.parse(JSON.stringify(overrides)) as RetryPolicyOverrides);
}

/** Rules between the fields of one destination, which the schema does not express. */
function checkDestination(name: string, destination: DestinationConfig, issues: ValidationIssue[]): void {
  const at = (field: string) => field.split('.').reduce(joinPath, joinPath('destinations', name));
  const add = (field: string, problem: string) => issues.push({ path: at(field), problem });
  switch (destination.type) {
    case 'fs':
      return;
    case 's3':
      if (destination.access_key_id !== undefined && destination.secret_access_key === undefined) add('secret_access_key', 'is required with access_key_id (give both, or neither to use the default credential chain)');
      if (destination.secret_access_key !== undefined && destination.access_key_id === undefined) add('access_key_id', 'is required with secret_access_key (give both, or neither to use the default credential chain)');
      if (destination.external_id !== undefined && destination.role_arn === undefined) add('external_id', 'needs role_arn (the external id is sent when assuming that role)');
      if (destination.role_session_name !== undefined && destination.role_arn === undefined) add('role_session_name', 'needs role_arn');
      if (destination.object_lock !== undefined && (destination.object_lock.mode === undefined) !== (destination.object_lock.retention_days === undefined)) {
        add(destination.object_lock.mode === undefined ? 'object_lock.mode' : 'object_lock.retention_days', 'goes with the other: give mode and retention_days together (or neither, for a legal hold only)');
      }
      return;
    case 'azure': {
      const viaUrl = destination.account_url !== undefined;
      if (destination.connection_string !== undefined && viaUrl) add('account_url', 'cannot be given with connection_string: use one or the other');
      if (destination.connection_string === undefined && !viaUrl) add('connection_string', 'is required, or account_url (with account_key, sas_token, or neither for DefaultAzureCredential)');
      if (destination.account_key !== undefined && destination.sas_token !== undefined) add('sas_token', 'cannot be given with account_key: use one credential');
      for (const field of ['account_key', 'sas_token', 'account_name'] as const) {
        if (destination[field] !== undefined && !viaUrl) add(field, 'needs account_url (a connection string carries its own credentials)');
      }
      if (destination.account_name !== undefined && viaUrl && destination.account_key === undefined) add('account_name', 'goes with account_key (the account name signs Shared Key requests)');
      return;
    }
    case 'gcs':
      if (destination.client_email !== undefined && destination.private_key === undefined) add('private_key', 'is required with client_email');
      if (destination.private_key !== undefined && destination.client_email === undefined) add('client_email', 'is required with private_key');
      if (destination.key_file !== undefined && (destination.client_email !== undefined || destination.private_key !== undefined)) add('key_file', 'cannot be given with client_email and private_key: use one or the other');
      return;
  }
}

/**
 * Checks a parsed configuration against the published schema (every problem at once, by JSON
 * path, unknown keys included), then what a schema cannot say: each project's destination exists,
 * its key layout compiles (and has `recipient_hash_key` when it uses `{hmac(recipient)}`), related fields come together, the retry overrides are consistent, and
 * (with `options.env`) every secret reference names a variable that is set. Values from the file
 * never appear in the problems.
 */
export function validateConfig(value: unknown, options: ValidateConfigOptions = {}): ConfigValidationResult {
  const issues = checkSchema(value, workerConfigJsonSchema as never);
  if (issues.length === 0) {
    const config = value as WorkerConfig;
    for (const [name, destination] of Object.entries(config.destinations)) {
      checkDestination(name, destination, issues);
      if (options.shared === true && destination.type === 'fs' && !path.isAbsolute(destination.root)) {
        issues.push({ path: `${joinPath(joinPath('destinations', name), 'root')}`, problem: 'must be an absolute path in a cluster\'s shared configuration (each worker would resolve a relative one against its own folder)' });
      }
    }
    for (const [id, project] of Object.entries(config.projects)) {
      const at = joinPath('projects', id);
      if (project.destination !== undefined && !Object.hasOwn(config.destinations, project.destination)) {
        issues.push({ path: `${at}.destination`, problem: `must name one of the destinations (${Object.keys(config.destinations).join(', ') || 'none is configured'})` });
      }
      if (project.layout !== undefined) {
        try {
          compileKeyLayout(project.layout);
        } catch (error) {
          // A layout that only lacks its secret is checked against recipient_hash_key by checkRecipientKey.
          if (!RecipientKeyError.isInstance(error)) {
            if (!KeyLayoutError.isInstance(error)) throw error;
            issues.push({ path: `${at}.layout`, problem: error.message });
          }
        }
      }
    }
    const keyOwners = new Map<string, string>();
    for (const [id, project] of Object.entries(config.projects)) {
      project.api_keys.forEach((key, index) => {
        const owner = keyOwners.get(key.sha256);
        if (owner !== undefined) issues.push({ path: `${joinPath(joinPath('projects', id), 'api_keys')}[${index}].sha256`, problem: owner === id ? 'is listed twice' : `is already a key of project "${owner}": a key selects one project` });
        else keyOwners.set(key.sha256, id);
      });
    }
    if (config.retry !== undefined) {
      try {
        retryPolicyFromConfig(config.retry);
      } catch (error) {
        // resolveRetryPolicy names the field in camelCase, e.g. `outage.quickMaxDelayMs must be …`.
        const match = /Invalid retry policy: ([A-Za-z.]+) must be (.*)\.$/.exec((error as Error).message);
        issues.push(match === null ? { path: 'retry', problem: (error as Error).message } : { path: `retry.${match[1]!.split('.').map(snake).join('.')}`, problem: `must be ${match[2]!.replace(/[A-Za-z]+\.[A-Za-z]+/g, (field) => field.split('.').map(snake).join('.'))}` });
      }
    }
    issues.push(...checkRecipientKey(config, options.env));
    if (options.env !== undefined) issues.push(...checkSecretReferences(config, options.env));
  }
  return issues.length === 0 ? { ok: true, config: value as WorkerConfig } : { ok: false, issues };
}

/** Reads, parses and validates a configuration file; throws a {@link ConfigError} naming every problem. */
export async function loadConfigFile(file: string, options: ValidateConfigOptions = {}): Promise<WorkerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ path: '', problem: code === 'ENOENT' ? 'the file does not exist (create one with `sentcopy worker`, which writes a default)' : `the file cannot be read (${code ?? 'unknown error'})` }]);
  }
  return parseConfigText(text, file, options);
}

/** Parses and validates configuration text; `source` names it in errors. */
export function parseConfigText(text: string, source = '', options: ValidateConfigOptions = {}): WorkerConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse names the position but may quote the text around it; keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(source, [{ path: '', problem: `must be JSON${position === undefined ? '' : ` (a syntax error at character ${Number(position) + 1})`}` }]);
  }
  const result = validateConfig(value, options);
  if (!result.ok) throw new ConfigError(source, result.issues);
  return result.config;
}
