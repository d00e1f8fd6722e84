import { readFile } from 'node:fs/promises';
import { compileKeyLayout, KeyLayoutError, type ValidationIssue } from '@sentcopy/core';
import { ConfigError } from './config-error.js';
import { checkSchema } from './schema-check.js';
import type { WorkerConfig } from './worker-config.js';
import { workerConfigJsonSchema } from './worker-config-schema.js';

/** What {@link validateConfig} found. */
export type ConfigValidationResult = { readonly ok: true; readonly config: WorkerConfig } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

/**
 * Checks a parsed configuration against the published schema, then what a schema cannot say: each
 * project's destination exists and its key layout compiles. Reports every problem at once.
 */
export function validateConfig(value: unknown): ConfigValidationResult {
  const issues = checkSchema(value, workerConfigJsonSchema as never);
  if (issues.length === 0) {
    const config = value as WorkerConfig;
    for (const [id, project] of Object.entries(config.projects)) {
      const at = `projects.${id}`;
      if (project.destination !== undefined && !Object.hasOwn(config.destinations, project.destination)) {
        issues.push({ path: `${at}.destination`, problem: `must name one of the destinations (${Object.keys(config.destinations).join(', ') || 'none is configured'})` });
      }
      if (project.layout !== undefined) {
        try {
          compileKeyLayout(project.layout);
        } catch (error) {
          if (!KeyLayoutError.isInstance(error)) throw error;
          issues.push({ path: `${at}.layout`, problem: error.message });
        }
      }
    }
  }
  return issues.length === 0 ? { ok: true, config: value as WorkerConfig } : { ok: false, issues };
}

/** Reads, parses and validates a configuration file; throws a {@link ConfigError} naming every problem. */
export async function loadConfigFile(file: string): Promise<WorkerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ path: '', problem: code === 'ENOENT' ? 'the file does not exist (create one with `sentcopy worker`, which writes a default)' : `the file cannot be read (${code ?? 'unknown error'})` }]);
  }
  return parseConfigText(text, file);
}

/** Parses and validates configuration text; `source` names it in errors. */
export function parseConfigText(text: string, source = ''): WorkerConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse names the position but may quote the text around it; keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(source, [{ path: '', problem: `must be JSON${position === undefined ? '' : ` (a syntax error at character ${Number(position) + 1})`}` }]);
  }
  const result = validateConfig(value);
  if (!result.ok) throw new ConfigError(source, result.issues);
  return result.config;
}
