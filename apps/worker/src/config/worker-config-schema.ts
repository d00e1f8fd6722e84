import { channelNamePattern, codecNames, defaultMaxBatchMessages, defaultMaxBodyBytes, defaultMaxMessageBytes, profileNames, type DestinationSettingSchema } from '@sentcopy/core';
import { firstPartyDestinationTypes, type AnyDestinationDescriptor } from './destination-descriptors.js';

const secretReference = {
  type: 'object',
  description: 'A secret read from an environment variable when the configuration is loaded; secrets are never written into this file.',
  'x-secret': true,
  properties: { env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the environment variable.' } },
  required: ['env'],
  additionalProperties: false,
} as const;

const milliseconds = { type: 'integer', minimum: 0 } as const;

const acknowledgement = {
  const: true,
  description: 'Confirms that the archived messages hold personal data. Required.',
} as const;

/** JSON Schema of one setting, as the worker checks it: a secret becomes an `{ "env": … }` reference. */
function settingSchema(schema: DestinationSettingSchema): object {
  if (schema['x-secret'] === true) return { ...secretReference, ...(schema.description === undefined ? {} : { description: schema.description }) };
  if (schema.properties === undefined) return schema;
  return { ...schema, properties: Object.fromEntries(Object.entries(schema.properties).map(([name, child]) => [name, settingSchema(child)])) };
}

/**
 * JSON Schema of one destination entry of `descriptor`'s type: the worker's own `type` and
 * `acknowledge_personal_data`, then the descriptor's settings (secrets as `{ "env": … }` references).
 */
export function destinationEntrySchema(descriptor: AnyDestinationDescriptor): object {
  const settings = descriptor.settingsSchema;
  return {
    ...(settings.description === undefined ? { description: `${descriptor.title} (package ${descriptor.packageName}).` } : { description: settings.description }),
    type: 'object',
    properties: { type: { const: descriptor.type }, acknowledge_personal_data: acknowledgement, ...(settingSchema(settings) as { properties: object }).properties },
    required: ['type', 'acknowledge_personal_data', ...(settings.required ?? [])],
    additionalProperties: settings.additionalProperties === undefined ? false : settingSchema(settings.additionalProperties as DestinationSettingSchema),
  };
}

const destinationType = {
  type: 'string',
  minLength: 1,
  description: `${firstPartyDestinationTypes.map((type) => `"${type}"`).join(', ')}, or the package name of a third-party destination (installed next to this file or next to the worker).`,
} as const;

/** A destination entry before its type's descriptor is known: the fields the worker owns. */
const destinationFrame = {
  type: 'object',
  required: ['type', 'acknowledge_personal_data'],
  properties: { type: destinationType, acknowledge_personal_data: acknowledgement },
} as const;

function configSchema(destinationEntry: object) {
  return {
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
        additionalProperties: destinationEntry,
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
                  created_at: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$', description: 'When the key was created, UTC (ISO 8601). Informational.' },
                  expires_at: {
                    type: 'string',
                    pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$',
                    description: 'From this moment (UTC, ISO 8601) the key is refused; `sentcopy keys rotate` sets it on the old key. Omitted: the key does not expire.',
                  },
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
      viewer: {
        type: 'object',
        description: 'Accounts of `sentcopy view`, the archive viewer (managed with `sentcopy view accounts`). The worker ignores this section.',
        properties: {
          accounts: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: 'The account name shown in the access log.' },
                password_hash: { type: 'string', pattern: '^scrypt\\$', description: 'scrypt hash of the password with its parameters and salt, as `sentcopy view accounts add` writes it.' },
                created_at: { type: 'string', description: 'When the account was added, an ISO 8601 time.' },
              },
              required: ['name', 'password_hash', 'created_at'],
              additionalProperties: false,
            },
          },
        },
        additionalProperties: false,
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
          tls: {
            type: 'object',
            description: 'Serve HTTPS instead of plain HTTP. Both files are PEM, relative to the configuration file, and reloaded when they change (a bad pair is refused and the previous one keeps serving).',
            properties: {
              cert_file: { type: 'string', minLength: 1, description: 'The certificate followed by its intermediates, PEM; relative to the configuration file.' },
              key_file: { type: 'string', minLength: 1, description: "The certificate's private key, PEM, unencrypted (keep it mode 0600); relative to the configuration file." },
            },
            required: ['cert_file', 'key_file'],
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
          segment_max_age_ms: {
            type: 'integer',
            minimum: 10,
            maximum: 3600000,
            description: 'A segment is closed this long after its first entry, in milliseconds (default 10000): the longest a stored message waits in the queue as stored, not yet in the ledger.',
          },
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
}

/**
 * The configuration schema the worker checks first: every destination entry only for the fields the
 * worker owns. Each entry's settings are then checked against its type's descriptor.
 */
export const workerConfigFrameSchema = configSchema(destinationFrame);

/**
 * JSON Schema (draft 2020-12) of the worker's configuration file, format v1, for these destination
 * descriptors (the published file lists the first-party ones; any other type is a package name whose
 * settings its own package describes). The worker validates configuration files with exactly these
 * rules (see `validateConfig`), then checks what a schema cannot say: that each project's destination
 * exists, its layout compiles, and the descriptors' rules between settings.
 */
export function buildWorkerConfigJsonSchema(descriptors: readonly AnyDestinationDescriptor[]): object {
  const known = descriptors.map((descriptor) => descriptor.type);
  const otherPackage = {
    description: 'A destination from another package, named by its package name; that package describes the other settings.',
    properties: {
      type: { type: 'string', pattern: `^(?!(?:${known.map((type) => type.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$)(?:@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$` },
      acknowledge_personal_data: acknowledgement,
    },
  };
  return configSchema({ ...destinationFrame, oneOf: [...descriptors.map(destinationEntrySchema), otherPackage] });
}
