import type { ValidationIssue } from '../payload/message-validation-error.js';
import type { DestinationV1 } from './destination-v1.js';

/**
 * The part of JSON Schema (draft 2020-12) a destination's settings schema may use. The worker
 * validates configuration files with exactly these keywords, so a descriptor that needs another
 * one is refused when it is loaded instead of being half-checked.
 */
export interface DestinationSettingSchema {
  readonly type?: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'array';
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, DestinationSettingSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | DestinationSettingSchema;
  readonly items?: DestinationSettingSchema;
  readonly minItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  /** What the setting is for; shown in errors, `destinations show` and the generated schema file. */
  readonly description?: string;
  /**
   * Marks a setting whose value is a secret: the configuration holds only `{ "env": "NAME" }`,
   * the name of the environment variable that holds it, never the secret itself.
   */
  readonly 'x-secret'?: boolean;
  /**
   * Marks a file or folder path: relative paths are resolved against the configuration file's
   * folder (the worker does so before `create` sees the settings), and a cluster's shared
   * configuration refuses relative ones.
   */
  readonly 'x-path'?: boolean;
}

/** The schema of one destination's settings: an object whose properties are its settings. */
export interface DestinationSettingsSchema extends DestinationSettingSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, DestinationSettingSchema>>;
}

/** One command-line option of `sentcopy destinations connect|edit` that sets one setting. */
export interface DestinationOptionHelp {
  /** The setting it sets, dotted for a nested one: `bucket`, `object_lock.mode`. */
  readonly setting: string;
  /** The long option name without dashes: `bucket`, `object-lock-mode`. A secret's option takes the variable's name (`access-key-id-env`). */
  readonly flag: string;
  /** Placeholder of the value in `--help` (`name`, `url`, `days`); absent for a switch (`--x` / `--no-x`). */
  readonly value?: string;
  /** One line of help: what it sets, and its default. */
  readonly description: string;
}

/** What a destination is created with besides its settings. */
export interface DestinationContext {
  /** The folder relative paths in the settings are resolved against: the configuration file's folder. */
  readonly baseDir: string;
  /**
   * The value of a secret setting (one marked `x-secret`), read from the environment variable the
   * configuration names; `undefined` when the setting is absent. Throws an error naming the setting
   * and the variable (never the value) when the variable is not set.
   */
  readSecret(setting: string): string | undefined;
}

/**
 * What a destination package tells sentcopy's apps about itself: everything the worker and the CLI
 * need to validate, create and edit a destination of this type without knowing the package. A
 * destination package exports one as `destinationDescriptor`.
 *
 * @typeParam Settings - the settings as they appear in a configuration file, after validation
 *   against {@link DestinationDescriptorV1.settingsSchema} (secrets still as `{ env }` references).
 */
export interface DestinationDescriptorV1<Settings = Record<string, unknown>> {
  /** The contract version this descriptor implements. */
  readonly specificationVersion: 'v1';
  /**
   * The `type` a configuration names it by. First-party packages use short names (`fs`, `s3`,
   * `azure`, `gcs`); any other package is named by its package name (`@acme/sentcopy-webdav`).
   */
  readonly type: string;
  /** The npm package that exports this descriptor. */
  readonly packageName: string;
  /** A short human name for listings and `--help`: "Amazon S3 and S3-compatible stores". */
  readonly title: string;
  /**
   * JSON Schema of the settings (every field of the configuration entry except `type` and
   * `acknowledge_personal_data`, which the worker owns). Secrets are marked `x-secret`, paths `x-path`.
   */
  readonly settingsSchema: DestinationSettingsSchema;
  /** The options `sentcopy destinations connect|edit` offers, in the order `--help` lists them. */
  readonly options: readonly DestinationOptionHelp[];
  /**
   * Rules between settings that the schema cannot say (two that go together, one that excludes
   * another). Called only once the settings passed the schema; each issue's `path` is the setting,
   * dotted for a nested one (`object_lock.mode`), and its `problem` a sentence that never quotes a
   * value. @default no further rules
   */
  checkSettings?(settings: Settings): readonly ValidationIssue[];
  /**
   * Where the destination stores objects, in one short phrase without secrets
   * (`s3://bucket/prefix/`), for listings such as `sentcopy destinations show`. @default the type
   */
  describeLocation?(settings: Settings): string;
  /**
   * Creates the destination from validated settings (secrets still `{ env }` references: read them
   * with `context.readSecret`; `x-path` settings already absolute).
   */
  create(settings: Settings, context: DestinationContext): DestinationV1 | Promise<DestinationV1>;
}
