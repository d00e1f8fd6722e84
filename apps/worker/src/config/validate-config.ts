import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { compileKeyLayout, KeyLayoutError, RecipientKeyError, resolveRetryPolicy, type RetryPolicy, type RetryPolicyOverrides, type ValidationIssue } from '@sentcopy/core';
import { ConfigError } from './config-error.js';
import { checkRecipientKey } from './recipient-key.js';
import { markedSettings, resolveDestinationDescriptor, settingAt, settingsOf, type AnyDestinationDescriptor, type DescriptorResolution, type DescriptorSourceOptions } from './destination-descriptors.js';
import { checkSchema, joinPath } from './schema-check.js';
import { checkSecretReferences } from './secret-references.js';
import type { RetryConfig, WorkerConfig } from './worker-config.js';
import { destinationEntrySchema, workerConfigFrameSchema } from './worker-config-schema.js';

/** What {@link validateConfig} found. */
export type ConfigValidationResult = { readonly ok: true; readonly config: WorkerConfig } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

/** Options for {@link validateConfig}, {@link parseConfigText} and {@link loadConfigFile}. */
export interface ValidateConfigOptions extends DescriptorSourceOptions {
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

/** Checks one destination entry against its type's descriptor: its schema, its own rules between settings, and (shared) absolute paths. */
function checkDestination(name: string, entry: Readonly<Record<string, unknown>>, descriptor: AnyDestinationDescriptor, shared: boolean, issues: ValidationIssue[], ruleIssues: ValidationIssue[]): void {
  const base = joinPath('destinations', name);
  const at = (field: string) => field.split('.').reduce(joinPath, base);
  const found = checkSchema(entry, destinationEntrySchema(descriptor) as never, base);
  issues.push(...found);
  if (found.length > 0) return;
  let rules: readonly ValidationIssue[] = [];
  try {
    rules = descriptor.checkSettings?.(settingsOf(entry)) ?? [];
  } catch (error) {
    rules = [{ path: '', problem: `cannot be checked: the package ${descriptor.packageName} failed (${error instanceof Error ? error.message : String(error)})` }];
  }
  for (const rule of rules) ruleIssues.push({ path: rule.path === '' ? base : at(rule.path), problem: rule.problem });
  if (shared) {
    for (const field of markedSettings(descriptor, 'x-path')) {
      const value = settingAt(entry, field);
      if (typeof value === 'string' && !path.isAbsolute(value)) {
        ruleIssues.push({ path: at(field), problem: "must be an absolute path in a cluster's shared configuration (each worker would resolve a relative one against its own folder)" });
      }
    }
  }
}

/** Resolves the descriptor of every destination type the configuration names, and checks each entry against its own. */
async function checkDestinations(value: unknown, options: ValidateConfigOptions, issues: ValidationIssue[], ruleIssues: ValidationIssue[]): Promise<Map<string, AnyDestinationDescriptor>> {
  const found = new Map<string, AnyDestinationDescriptor>();
  const destinations = (value as { destinations?: unknown } | null)?.destinations;
  if (typeof destinations !== 'object' || destinations === null || Array.isArray(destinations)) return found;
  const resolutions = new Map<string, Promise<DescriptorResolution>>();
  for (const [name, entry] of Object.entries(destinations as Record<string, unknown>)) {
    const type = (entry as { type?: unknown } | null)?.type;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || typeof type !== 'string' || type === '') continue;
    if (!resolutions.has(type)) resolutions.set(type, resolveDestinationDescriptor(type, options));
    const resolution = await (resolutions.get(type) as Promise<DescriptorResolution>);
    if (!resolution.ok) issues.push({ path: joinPath(joinPath('destinations', name), 'type'), problem: resolution.problem });
    else {
      found.set(name, resolution.descriptor);
      checkDestination(name, entry as Record<string, unknown>, resolution.descriptor, options.shared === true, issues, ruleIssues);
    }
  }
  return found;
}

/**
 * Checks a parsed configuration against the published schema (every problem at once, by JSON
 * path, unknown keys included), each destination against the descriptor of its type (found as
 * {@link resolveDestinationDescriptor} says: a type that cannot be used is a problem at
 * `destinations.<name>.type`), then what a schema cannot say: each project's destination exists,
 * its key layout compiles (and has `recipient_hash_key` when it uses `{hmac(recipient)}`), related fields come together, the retry overrides are consistent, and
 * (with `options.env`) every secret reference names a variable that is set. Values from the file
 * never appear in the problems.
 */
export async function validateConfig(value: unknown, options: ValidateConfigOptions = {}): Promise<ConfigValidationResult> {
  // A newer format is reported on its own: its other differences would only be noise.
  const version = typeof value === 'object' && value !== null ? (value as { version?: unknown }).version : undefined;
  if (typeof version === 'number' && Number.isInteger(version) && version > configFormatVersion) {
    return {
      ok: false,
      issues: [
        {
          path: 'version',
          problem: `is ${version}, a configuration format newer than this sentcopy understands (it reads format ${configFormatVersion}): upgrade the worker and the CLI to the release that wrote it, or restore the previous configuration file (see docs/upgrading.md)`,
        },
      ],
    };
  }
  const found = checkSchema(value, workerConfigFrameSchema as never);
  const ruleIssues: ValidationIssue[] = [];
  const descriptors = await checkDestinations(value, options, found, ruleIssues);
  const seen = new Set<string>();
  // The frame and an entry's own schema both check the fields the worker owns; report each problem once.
  const issues = found.filter((issue) => {
    const key = `${issue.path}\n${issue.problem}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  if (issues.length === 0) {
    const config = value as WorkerConfig;
    issues.push(...ruleIssues);
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
        for (const field of ['created_at', 'expires_at'] as const) {
          const text = key[field];
          if (text !== undefined && Number.isNaN(Date.parse(text)))
            issues.push({ path: `${joinPath(joinPath('projects', id), 'api_keys')}[${index}].${field}`, problem: 'is not a real date and time (UTC, ISO 8601, e.g. 2026-12-05T00:00:00Z)' });
        }
      });
    }
    if (config.retry !== undefined) {
      try {
        retryPolicyFromConfig(config.retry);
      } catch (error) {
        // resolveRetryPolicy names the field in camelCase, e.g. `outage.quickMaxDelayMs must be …`.
        const match = /Invalid retry policy: ([A-Za-z.]+) must be (.*)\.$/.exec((error as Error).message);
        issues.push(
          match === null
            ? { path: 'retry', problem: (error as Error).message }
            : { path: `retry.${match[1]!.split('.').map(snake).join('.')}`, problem: `must be ${match[2]!.replace(/[A-Za-z]+\.[A-Za-z]+/g, (field) => field.split('.').map(snake).join('.'))}` },
        );
      }
    }
    issues.push(...checkRecipientKey(config, options.env));
    if (options.env !== undefined) {
      const secretSettings = (destination: string) => {
        const descriptor = descriptors.get(destination);
        return descriptor === undefined ? undefined : markedSettings(descriptor, 'x-secret');
      };
      issues.push(...checkSecretReferences(config, options.env, secretSettings));
    }
  }
  return issues.length === 0 ? { ok: true, config: value as WorkerConfig } : { ok: false, issues };
}

/** The configuration format this worker reads and writes (`version` in the file). */
export const configFormatVersion = 1;

/** Reads, parses and validates a configuration file; throws a {@link ConfigError} naming every problem. */
export async function loadConfigFile(file: string, options: ValidateConfigOptions = {}): Promise<WorkerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ path: '', problem: code === 'ENOENT' ? 'the file does not exist (create one with `sentcopy worker`, which writes a default)' : `the file cannot be read (${code ?? 'unknown error'})` }]);
  }
  return parseConfigText(text, file, { baseDir: path.dirname(path.resolve(file)), ...options });
}

/** Parses and validates configuration text; `source` names it in errors. */
export async function parseConfigText(text: string, source = '', options: ValidateConfigOptions = {}): Promise<WorkerConfig> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse names the position but may quote the text around it; keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(source, [{ path: '', problem: `must be JSON${position === undefined ? '' : ` (a syntax error at character ${Number(position) + 1})`}` }]);
  }
  const result = await validateConfig(value, options);
  if (!result.ok) throw new ConfigError(source, result.issues);
  return result.config;
}
