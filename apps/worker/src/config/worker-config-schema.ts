import { channelNamePattern, codecNames, defaultMaxBatchMessages, defaultMaxBodyBytes, defaultMaxMessageBytes, profileNames } from '@sentcopy/core';

const secretReference = {
  type: 'object',
  description: 'A secret read from an environment variable when the configuration is loaded; secrets are never written into this file.',
  'x-secret': true,
  properties: { env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the environment variable.' } },
  required: ['env'],
  additionalProperties: false,
} as const;

const publicOverride = {
  type: 'boolean',
  description: 'Use a bucket or container that is publicly readable anyway; the probe refuses one otherwise.',
} as const;

const retention = {
  type: 'object',
  description: 'Retention (WORM) for every object written.',
  properties: { retention_days: { type: 'integer', minimum: 1 }, mode: { enum: ['Unlocked', 'Locked'] } },
  required: ['retention_days'],
  additionalProperties: false,
} as const;

const milliseconds = { type: 'integer', minimum: 0 } as const;

const acknowledgement = {
  const: true,
  description: 'Confirms that the archived messages hold personal data. Required.',
} as const;

/**
 * JSON Schema (draft 2020-12) of the worker's configuration file, format v1. The worker validates
 * configuration files against exactly this schema (see `validateConfig`), then checks what a
 * schema cannot say: that each project's destination exists and its layout compiles.
 */
export const workerConfigJsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://sentcopy.dev/schema/worker-config-v1.schema.json',
  title: 'sentcopy worker configuration, v1',
  type: 'object',
  properties: {
    $schema: { type: 'string' },
    version: { const: 1, description: 'Format version.' },
    destinations: {
      type: 'object',
      description: 'Destinations by name.',
      propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' },
      additionalProperties: {
        type: 'object',
        required: ['type', 'acknowledge_personal_data'],
        properties: { type: { enum: ['fs', 's3', 'azure', 'gcs'] } },
        oneOf: [
          {
            properties: {
              type: { const: 'fs' },
              acknowledge_personal_data: acknowledgement,
              root: { type: 'string', minLength: 1, description: 'Archive folder; relative to the configuration file.' },
              fsync: { type: 'boolean' },
              create_root: { type: 'boolean', description: 'Whether the first probe or write may create a missing root (never again afterwards). Default true; false for a mounted volume.' },
              require_mount_point: { type: 'boolean', description: 'Refuse the root until it is a mount point. Default false.' },
              file_mode: { type: 'string', pattern: '^0?[0-7]{3}$', description: 'Permission bits of archived files, in octal. Default "0600".' },
              directory_mode: { type: 'string', pattern: '^0?[0-7]{3}$', description: 'Permission bits of the folders it creates, in octal. Default "0700".' },
            },
            required: ['root'],
            additionalProperties: false,
          },
          {
            properties: {
              type: { const: 's3' },
              acknowledge_personal_data: acknowledgement,
              bucket: { type: 'string', minLength: 3, maxLength: 63 },
              region: { type: 'string', minLength: 1 },
              key_prefix: { type: 'string' },
              endpoint: { type: 'string', pattern: '^https?://' },
              force_path_style: { type: 'boolean' },
              access_key_id: secretReference,
              secret_access_key: secretReference,
              role_arn: { type: 'string', pattern: '^arn:' },
              role_session_name: { type: 'string', minLength: 2, maxLength: 64 },
              external_id: secretReference,
              expected_bucket_owner: { type: 'string', pattern: '^[0-9]{12}$' },
              kms_key_id: { type: 'string', minLength: 1 },
              storage_class: { type: 'string', minLength: 1 },
              allow_public_bucket: publicOverride,
              object_lock: {
                type: 'object',
                description: 'S3 Object Lock for every object; the bucket must have Object Lock enabled. `mode` and `retention_days` go together.',
                properties: { mode: { enum: ['GOVERNANCE', 'COMPLIANCE'] }, retention_days: { type: 'integer', minimum: 1 }, legal_hold: { type: 'boolean' } },
                additionalProperties: false,
              },
              request_checksum_calculation: { enum: ['WHEN_SUPPORTED', 'WHEN_REQUIRED'] },
            },
            required: ['bucket'],
            additionalProperties: false,
          },
          {
            description: 'Azure Blob Storage (package @sentcopy/destination-azure). Either connection_string, or account_url with at most one of account_key and sas_token (neither: DefaultAzureCredential).',
            properties: {
              type: { const: 'azure' },
              acknowledge_personal_data: acknowledgement,
              container: { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$' },
              connection_string: secretReference,
              account_url: { type: 'string', pattern: '^https?://' },
              account_name: { type: 'string', minLength: 1 },
              account_key: secretReference,
              sas_token: secretReference,
              key_prefix: { type: 'string' },
              access_tier: { enum: ['Hot', 'Cool', 'Cold', 'Archive'] },
              immutability: retention,
              legal_hold: { type: 'boolean' },
              encryption_scope: { type: 'string', minLength: 1 },
              allow_public_bucket: publicOverride,
            },
            required: ['container'],
            additionalProperties: false,
          },
          {
            description: 'Google Cloud Storage (package @sentcopy/destination-gcs). client_email with private_key, or key_file, or neither (Application Default Credentials).',
            properties: {
              type: { const: 'gcs' },
              acknowledge_personal_data: acknowledgement,
              bucket: { type: 'string', minLength: 3, maxLength: 222 },
              key_prefix: { type: 'string' },
              project_id: { type: 'string', minLength: 1 },
              client_email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
              private_key: secretReference,
              key_file: { type: 'string', minLength: 1, description: 'Service account JSON key file; relative to the configuration file.' },
              api_endpoint: { type: 'string', pattern: '^https?://' },
              authenticate_custom_endpoint: { type: 'boolean' },
              universe_domain: { type: 'string', minLength: 1 },
              retention,
              event_based_hold: { type: 'boolean' },
              temporary_hold: { type: 'boolean' },
              kms_key_name: { type: 'string', minLength: 1 },
              storage_class: { type: 'string', minLength: 1 },
              allow_public_bucket: publicOverride,
            },
            required: ['bucket'],
            additionalProperties: false,
          },
        ],
      },
    },
    projects: {
      type: 'object',
      description: 'Projects by id (the project_id messages carry).',
      propertyNames: { pattern: '^[A-Za-z0-9._-]{1,128}$' },
      additionalProperties: {
        type: 'object',
        properties: {
          destination: { type: 'string', minLength: 1, description: 'Name of a destination. Omitted: the project has none (its messages are refused and queued ones dead-lettered).' },
          channels: { type: 'array', items: { type: 'string', pattern: channelNamePattern }, minItems: 1, uniqueItems: true },
          profile: { enum: [...profileNames] },
          layout: { type: 'string', minLength: 1 },
          codec: { enum: [...codecNames] },
          api_keys: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the key, lower-case hex.' },
                label: { type: 'string', maxLength: 200 },
              },
              required: ['sha256'],
              additionalProperties: false,
            },
          },
        },
        required: ['channels', 'api_keys'],
        additionalProperties: false,
      },
    },
    recipient_hash_key: {
      ...secretReference,
      description:
        "The deployment's secret (at least 16 bytes) for keyed recipient hashes, {hmac(recipient)}, used by the sentcopy layout. Without it, projects on the sentcopy profile with no layout keep the unkeyed layout (sentcopy-unkeyed), with a warning. Keep it as long as the archive: messages are found by recipient only with the secret they were stored with.",
    },
    alerts: {
      type: 'object',
      description: 'Alert webhook, called when a destination turns unhealthy and when it recovers. Read when the worker starts.',
      properties: { webhook_url: secretReference, secret: secretReference },
      required: ['webhook_url'],
      additionalProperties: false,
    },
    queue: {
      type: 'object',
      description: 'The durable queue. Read when the worker starts.',
      properties: { path: { type: 'string', minLength: 1, description: 'Folder of the embedded queue; relative to the configuration file. Default: .sentcopy/queue' } },
      additionalProperties: false,
    },
    http: {
      type: 'object',
      description: 'The HTTP intake. Read when the worker starts.',
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        limits: {
          type: 'object',
          properties: {
            max_body_bytes: {
              type: 'integer',
              minimum: 1,
              description: `Largest request body, in bytes (default ${defaultMaxBodyBytes}); keep it above max_message_bytes so a batch can carry one message of that size.`,
            },
            max_batch_messages: { type: 'integer', minimum: 1, description: `Most messages in one batch (default ${defaultMaxBatchMessages}).` },
            max_message_bytes: {
              type: 'integer',
              minimum: 1,
              description: `Largest single message (its JSON text), in bytes (default ${defaultMaxMessageBytes}: an email with 25 MiB of attachments).`,
            },
          },
          additionalProperties: false,
        },
        metrics: {
          type: 'object',
          description: 'Protects GET /metrics and the checks of GET /readyz, which name projects, destinations and buckets. Without it both answer anyone.',
          properties: { token: { ...secretReference, description: 'Bearer token GET /metrics and the detail of GET /readyz require; read from an environment variable.' } },
          required: ['token'],
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
    ledger: {
      type: 'object',
      description:
        'The archive ledger: a hash-chained, write-once record of every stored object, kept beside the archive under .sentcopy-ledger/ in each destination, which `sentcopy verify --complete` checks (see docs/ledger.md). On by default; applies live.',
      properties: {
        enabled: { type: 'boolean', description: 'Write the ledger (default true); false turns it off for every destination.' },
        disabled_destinations: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, description: 'Destinations (by name) that get no ledger although enabled is true.' },
        segment_max_entries: { type: 'integer', minimum: 1, maximum: 100000, description: 'A segment is closed once it holds this many entries (default 5000).' },
        segment_max_age_ms: { type: 'integer', minimum: 10, maximum: 3600000, description: 'A segment is closed this long after its first entry, in milliseconds (default 10000): the longest a stored message waits in the queue as stored, not yet in the ledger.' },
        retry_delay_ms: { type: 'integer', minimum: 10, description: 'After a failed segment write, how long until it is tried again, in milliseconds (default 30000).' },
      },
      additionalProperties: false,
    },
    retry: {
      type: 'object',
      description: "Overrides of the queue's retry policy; unset fields keep the defaults. Read when the worker starts.",
      properties: {
        rate_limited: {
          type: 'object',
          properties: { initial_delay_ms: milliseconds, multiplier: { type: 'number', minimum: 1 }, max_delay_ms: milliseconds, max_age_ms: { type: 'integer', minimum: 1 } },
          additionalProperties: false,
        },
        outage: {
          type: 'object',
          properties: {
            quick_retries: { type: 'integer', minimum: 0 },
            quick_initial_delay_ms: milliseconds,
            quick_max_delay_ms: milliseconds,
            slow_interval_ms: { type: 'integer', minimum: 1 },
            slow_jitter_ratio: { type: 'number', minimum: 0, maximum: 1 },
            max_age_ms: { type: 'integer', minimum: 1 },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
  required: ['version', 'destinations', 'projects'],
  additionalProperties: false,
} as const;
