import path from 'node:path';
import type { DestinationDescriptorV1, ValidationIssue } from '@sentcopy/core';
import { createGcsDestination } from './create-gcs-destination.js';

/** Where a secret setting's value comes from: the environment variable a configuration file names. */
export interface GcsSecretReference {
  /** Name of the environment variable holding the secret. */
  readonly env: string;
}

/**
 * A `gcs` destination as a configuration file holds it (snake_case, every field but `type` and the
 * acknowledgement). Credentials: `client_email` with `private_key`, or `key_file`; with neither,
 * Application Default Credentials.
 */
export interface GcsDestinationFileSettings {
  /** The bucket (it must exist). */
  readonly bucket: string;
  /** Prefix of every object name, e.g. `archive/`. @default none */
  readonly key_prefix?: string;
  /** The Google Cloud project. @default the credentials' project */
  readonly project_id?: string;
  /** The service account's email; goes with `private_key`. */
  readonly client_email?: string;
  /** The service account's PEM private key; goes with `client_email`. */
  readonly private_key?: GcsSecretReference;
  /** Path of a service account JSON key file; relative paths are resolved against the configuration file's folder. */
  readonly key_file?: string;
  /** Base URL of the JSON API (Private Service Connect, a test server). @default Google's */
  readonly api_endpoint?: string;
  /** Whether requests to a custom `api_endpoint` carry credentials. @default true when credentials are given */
  readonly authenticate_custom_endpoint?: boolean;
  /** The Google Cloud universe. @default 'googleapis.com' */
  readonly universe_domain?: string;
  /** Object retention for every object; the bucket must have object retention enabled. @default none */
  readonly retention?: {
    /** Retention period in days from the moment of the write (1 or more). */
    readonly retention_days: number;
    /** `Unlocked` (can still be shortened) or `Locked` (nobody can). @default 'Unlocked' */
    readonly mode?: 'Unlocked' | 'Locked';
  };
  /** Places an event-based hold on every object. @default false */
  readonly event_based_hold?: boolean;
  /** Places a temporary hold on every object. @default false */
  readonly temporary_hold?: boolean;
  /** Cloud KMS key for every object (CMEK). @default the bucket's default */
  readonly kms_key_name?: string;
  /** Storage class of every object, e.g. `NEARLINE`. @default the bucket's default */
  readonly storage_class?: string;
  /** Use a bucket that is publicly readable anyway (refused by default). @default false */
  readonly allow_public_bucket?: boolean;
}

const given = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

function checkSettings(settings: GcsDestinationFileSettings): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (field: string, problem: string) => issues.push({ path: field, problem });
  if (settings.client_email !== undefined && settings.private_key === undefined) add('private_key', 'is required with client_email');
  if (settings.private_key !== undefined && settings.client_email === undefined) add('client_email', 'is required with private_key');
  if (settings.key_file !== undefined && (settings.client_email !== undefined || settings.private_key !== undefined)) add('key_file', 'cannot be given with client_email and private_key: use one or the other');
  return issues;
}

/** How sentcopy's worker and CLI validate, create and edit `gcs` destinations. */
export const destinationDescriptor: DestinationDescriptorV1<GcsDestinationFileSettings> = {
  specificationVersion: 'v1',
  type: 'gcs',
  packageName: '@sentcopy/destination-gcs',
  title: 'Google Cloud Storage',
  settingsSchema: {
    type: 'object',
    description: 'Google Cloud Storage (package @sentcopy/destination-gcs). client_email with private_key, or key_file, or neither (Application Default Credentials).',
    properties: {
      bucket: { type: 'string', minLength: 3, maxLength: 222 },
      key_prefix: { type: 'string' },
      project_id: { type: 'string', minLength: 1 },
      client_email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
      private_key: { 'x-secret': true, description: "The service account's PEM private key; goes with client_email." },
      key_file: { type: 'string', minLength: 1, 'x-path': true, description: 'Service account JSON key file; relative to the configuration file.' },
      api_endpoint: { type: 'string', pattern: '^https?://' },
      authenticate_custom_endpoint: { type: 'boolean' },
      universe_domain: { type: 'string', minLength: 1 },
      retention: {
        type: 'object',
        description: 'Retention (WORM) for every object written.',
        properties: { retention_days: { type: 'integer', minimum: 1 }, mode: { enum: ['Unlocked', 'Locked'] } },
        required: ['retention_days'],
        additionalProperties: false,
      },
      event_based_hold: { type: 'boolean' },
      temporary_hold: { type: 'boolean' },
      kms_key_name: { type: 'string', minLength: 1 },
      storage_class: { type: 'string', minLength: 1 },
      allow_public_bucket: { type: 'boolean', description: 'Use a bucket or container that is publicly readable anyway; the probe refuses one otherwise.' },
    },
    required: ['bucket'],
    additionalProperties: false,
  },
  options: [
    { setting: 'bucket', flag: 'bucket', value: 'name', description: 'the bucket (it must exist)' },
    { setting: 'key_prefix', flag: 'key-prefix', value: 'prefix', description: 'prefix of every object key, e.g. archive/' },
    { setting: 'project_id', flag: 'project-id', value: 'id', description: "the Google Cloud project (default: the credentials' project)" },
    { setting: 'key_file', flag: 'key-file', value: 'file', description: 'service account JSON key file (keep it mode 0600)' },
    { setting: 'client_email', flag: 'client-email', value: 'email', description: 'service account email, with --private-key-env' },
    { setting: 'private_key', flag: 'private-key-env', value: 'var', description: "environment variable holding the service account's PEM private key" },
    { setting: 'api_endpoint', flag: 'api-endpoint', value: 'url', description: 'base URL of the JSON API (Private Service Connect, a test server)' },
    { setting: 'kms_key_name', flag: 'kms-key', value: 'key', description: 'Cloud KMS key name (CMEK)' },
    {
      setting: 'storage_class',
      flag: 'storage-class',
      value: 'class',
      description: "storage class of every object (default: the bucket's; STANDARD is usually cheapest for messages, whose writes cost more in colder classes: see `sentcopy cost`)",
    },
    { setting: 'retention.retention_days', flag: 'retention-days', value: 'days', description: 'object retention of every object, in days' },
    { setting: 'retention.mode', flag: 'retention-mode', value: 'mode', description: 'Unlocked (default; can be shortened) or Locked (nobody can)' },
    { setting: 'event_based_hold', flag: 'event-based-hold', description: 'place an event-based hold on every object' },
    { setting: 'temporary_hold', flag: 'temporary-hold', description: 'place a temporary hold on every object' },
  ],
  checkSettings,
  describeLocation: (settings) => `gs://${settings.bucket}/${settings.key_prefix ?? ''}`,
  create(settings, context) {
    const privateKey = context.readSecret('private_key');
    return createGcsDestination({
      bucket: settings.bucket,
      ...given('keyPrefix', settings.key_prefix),
      ...given('projectId', settings.project_id),
      ...(settings.client_email === undefined || privateKey === undefined
        ? {}
        : { credentials: { client_email: settings.client_email, private_key: privateKey, ...given('project_id', settings.project_id), ...given('universe_domain', settings.universe_domain) } }),
      ...(settings.key_file === undefined ? {} : { keyFilename: path.resolve(context.baseDir, settings.key_file) }),
      ...given('apiEndpoint', settings.api_endpoint),
      ...given('authenticateCustomEndpoint', settings.authenticate_custom_endpoint),
      ...given('universeDomain', settings.universe_domain),
      ...(settings.retention === undefined ? {} : { retention: { retentionDays: settings.retention.retention_days, ...given('mode', settings.retention.mode) } }),
      ...given('eventBasedHold', settings.event_based_hold),
      ...given('temporaryHold', settings.temporary_hold),
      ...given('kmsKeyName', settings.kms_key_name),
      ...given('storageClass', settings.storage_class),
      ...given('allowPublicBucket', settings.allow_public_bucket),
    });
  },
};
