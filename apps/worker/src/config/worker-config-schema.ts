import { channels, codecNames, profileNames } from '@sentcopy/core';

const secretReference = {
  type: 'object',
  description: 'A secret read from an environment variable when the configuration is loaded; secrets are never written into this file.',
  'x-secret': true,
  properties: { env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the environment variable.' } },
  required: ['env'],
  additionalProperties: false,
} as const;

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
        properties: { type: { enum: ['fs', 's3'] } },
        oneOf: [
          {
            properties: {
              type: { const: 'fs' },
              acknowledge_personal_data: acknowledgement,
              root: { type: 'string', minLength: 1, description: 'Archive folder; relative to the configuration file.' },
              fsync: { type: 'boolean' },
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
              allow_public_bucket: { type: 'boolean' },
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
          channels: { type: 'array', items: { enum: [...channels] }, minItems: 1, uniqueItems: true },
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
    alerts: {
      type: 'object',
      description: 'Alert webhook, called when a destination turns unhealthy and when it recovers. Read when the worker starts.',
      properties: { webhook_url: secretReference, secret: secretReference },
      required: ['webhook_url'],
      additionalProperties: false,
    },
  },
  required: ['version', 'destinations', 'projects'],
  additionalProperties: false,
} as const;
