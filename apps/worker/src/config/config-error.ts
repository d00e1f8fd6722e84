import { formatIssues, type ValidationIssue } from '@sentcopy/core';

const marker = Symbol.for('sentcopy.config-error');

/** A configuration file cannot be used: it is unreadable, not JSON, or breaks the schema. */
export class ConfigError extends Error {
  private readonly [marker] = true;
  /** Every problem, by JSON path (e.g. `projects.shop.channels[1]`); never a value from the file. */
  readonly issues: readonly ValidationIssue[];

  constructor(source: string, issues: readonly ValidationIssue[]) {
    super(`Invalid configuration${source === '' ? '' : ` in ${source}`}: ${formatIssues(issues)}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }

  /** True for a `ConfigError` from any copy of this package. */
  static isInstance(error: unknown): error is ConfigError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
