import type { DestinationDescriptorV1, DestinationSettingSchema, ValidationIssue } from '@sentcopy/core';
import { createAzureDestination } from './create-azure-destination.js';

/** Where a secret setting's value comes from: the environment variable a configuration file names. */
export interface AzureSecretReference {
  /** Name of the environment variable holding the secret. */
  readonly env: string;
}

/**
 * An `azure` destination as a configuration file holds it (snake_case, every field but `type` and
 * the acknowledgement). Give either `connection_string`, or `account_url` with at most one of
 * `account_key` and `sas_token`; with neither, `DefaultAzureCredential` is used.
 */
export interface AzureDestinationFileSettings {
  /** The container (it must exist; 3–63 characters of `a-z0-9-`). */
  readonly container: string;
  /** A connection string; holds the account key or a SAS, hence a reference. */
  readonly connection_string?: AzureSecretReference;
  /** The blob service URL, e.g. `https://myaccount.blob.core.windows.net`. */
  readonly account_url?: string;
  /** The storage account name. @default read from `account_url` */
  readonly account_name?: string;
  /** The storage account key (Shared Key), with `account_url`. */
  readonly account_key?: AzureSecretReference;
  /** A shared access signature (account or container SAS), with `account_url`. */
  readonly sas_token?: AzureSecretReference;
  /** Prefix of every blob name, e.g. `archive/`. @default none */
  readonly key_prefix?: string;
  /** Access tier of every blob. @default the account's default tier */
  readonly access_tier?: 'Hot' | 'Cool' | 'Cold' | 'Archive';
  /** Per-blob immutability policy; needs version-level immutability support on the container. @default none */
  readonly immutability?: {
    /** Retention period in days from the moment of the write (1 or more). */
    readonly retention_days: number;
    /** `Unlocked` (can still be shortened) or `Locked` (nobody can). @default 'Unlocked' */
    readonly mode?: 'Unlocked' | 'Locked';
  };
  /** Places a legal hold on every blob. @default false */
  readonly legal_hold?: boolean;
  /** Encryption scope of every blob. @default the container's default scope */
  readonly encryption_scope?: string;
  /** Use a container that allows anonymous public read access anyway (refused by default). @default false */
  readonly allow_public_bucket?: boolean;
}

const secret = (description: string): DestinationSettingSchema => ({ 'x-secret': true, description });
const given = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

function checkSettings(settings: AzureDestinationFileSettings): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (path: string, problem: string) => issues.push({ path, problem });
  const viaUrl = settings.account_url !== undefined;
  if (settings.connection_string !== undefined && viaUrl) add('account_url', 'cannot be given with connection_string: use one or the other');
  if (settings.connection_string === undefined && !viaUrl) add('connection_string', 'is required, or account_url (with account_key, sas_token, or neither for DefaultAzureCredential)');
  if (settings.account_key !== undefined && settings.sas_token !== undefined) add('sas_token', 'cannot be given with account_key: use one credential');
  for (const field of ['account_key', 'sas_token', 'account_name'] as const) {
    if (settings[field] !== undefined && !viaUrl) add(field, 'needs account_url (a connection string carries its own credentials)');
  }
  if (settings.account_name !== undefined && viaUrl && settings.account_key === undefined) add('account_name', 'goes with account_key (the account name signs Shared Key requests)');
  return issues;
}

/** How sentcopy's worker and CLI validate, create and edit `azure` destinations. */
export const destinationDescriptor: DestinationDescriptorV1<AzureDestinationFileSettings> = {
  specificationVersion: 'v1',
  type: 'azure',
  packageName: '@sentcopy/destination-azure',
  title: 'Azure Blob Storage',
  settingsSchema: {
    type: 'object',
    description: 'Azure Blob Storage (package @sentcopy/destination-azure). Either connection_string, or account_url with at most one of account_key and sas_token (neither: DefaultAzureCredential).',
    properties: {
      container: { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$' },
      connection_string: secret('A connection string (it holds the account key or a SAS).'),
      account_url: { type: 'string', pattern: '^https?://' },
      account_name: { type: 'string', minLength: 1 },
      account_key: secret('The storage account key (Shared Key), with account_url.'),
      sas_token: secret('A shared access signature, with account_url.'),
      key_prefix: { type: 'string' },
      access_tier: { enum: ['Hot', 'Cool', 'Cold', 'Archive'] },
      immutability: {
        type: 'object',
        description: 'Retention (WORM) for every object written.',
        properties: { retention_days: { type: 'integer', minimum: 1 }, mode: { enum: ['Unlocked', 'Locked'] } },
        required: ['retention_days'],
        additionalProperties: false,
      },
      legal_hold: { type: 'boolean' },
      encryption_scope: { type: 'string', minLength: 1 },
      allow_public_bucket: { type: 'boolean', description: 'Use a bucket or container that is publicly readable anyway; the probe refuses one otherwise.' },
    },
    required: ['container'],
    additionalProperties: false,
  },
  options: [
    { setting: 'container', flag: 'container', value: 'name', description: 'the container (it must exist)' },
    { setting: 'key_prefix', flag: 'key-prefix', value: 'prefix', description: 'prefix of every object key, e.g. archive/' },
    { setting: 'connection_string', flag: 'connection-string-env', value: 'var', description: 'environment variable holding a connection string' },
    { setting: 'account_url', flag: 'account-url', value: 'url', description: 'blob service URL, e.g. https://ACCOUNT.blob.core.windows.net' },
    { setting: 'account_name', flag: 'account-name', value: 'name', description: 'storage account name, with --account-key-env (default: read from the URL)' },
    { setting: 'account_key', flag: 'account-key-env', value: 'var', description: 'environment variable holding the account key (Shared Key)' },
    { setting: 'sas_token', flag: 'sas-token-env', value: 'var', description: 'environment variable holding a SAS token' },
    { setting: 'access_tier', flag: 'access-tier', value: 'tier', description: 'access tier of every blob: Hot, Cool, Cold or Archive' },
    { setting: 'encryption_scope', flag: 'encryption-scope', value: 'scope', description: 'encryption scope of every blob' },
    { setting: 'immutability.retention_days', flag: 'retention-days', value: 'days', description: 'immutability policy of every blob, in days from its write' },
    { setting: 'immutability.mode', flag: 'retention-mode', value: 'mode', description: 'Unlocked (default; can be shortened) or Locked (nobody can)' },
    { setting: 'legal_hold', flag: 'legal-hold', description: 'place a legal hold on every object' },
  ],
  checkSettings,
  describeLocation: (settings) => `${settings.account_url ?? 'connection string'} container ${settings.container}${settings.key_prefix === undefined ? '' : `/${settings.key_prefix}`}`,
  create(settings, context) {
    const connectionString = context.readSecret('connection_string');
    const accountKey = context.readSecret('account_key');
    const sasToken = context.readSecret('sas_token');
    const credential = accountKey !== undefined ? { accountKey, ...given('accountName', settings.account_name) } : sasToken !== undefined ? { sasToken } : { defaultAzureCredential: true as const };
    return createAzureDestination({
      container: settings.container,
      ...(connectionString === undefined ? { ...given('accountUrl', settings.account_url), credential } : { connectionString }),
      ...given('keyPrefix', settings.key_prefix),
      ...given('accessTier', settings.access_tier),
      ...(settings.immutability === undefined ? {} : { immutability: { retentionDays: settings.immutability.retention_days, ...given('mode', settings.immutability.mode) } }),
      ...given('legalHold', settings.legal_hold),
      ...given('encryptionScope', settings.encryption_scope),
      ...given('allowPublicContainer', settings.allow_public_bucket),
    });
  },
};
