import type { Channel, CodecName, ProfileName } from '@sentcopy/core';

/**
 * Where a secret comes from: the named environment variable, read when the configuration is
 * loaded. Secrets are never written into the configuration file itself.
 */
export interface SecretReference {
  /** Name of the environment variable holding the secret. */
  readonly env: string;
}

/**
 * One destination: its `type`, the personal-data acknowledgement, and the settings the descriptor of
 * its type describes (validated against that descriptor's schema when the configuration is loaded).
 * sentcopy's own types are `fs`, `s3`, `azure` and `gcs`, whose settings each package documents
 * (`FsDestinationFileSettings`, `S3DestinationFileSettings`…); any other type is the package name of
 * a third-party destination.
 */
export interface DestinationConfig {
  /** A first-party type (`fs`, `s3`, `azure`, `gcs`) or the package name of a third-party destination. */
  readonly type: string;
  /**
   * Confirms that whoever configured this destination knows the archived messages hold personal
   * data (addresses, phone numbers, message content). Must be `true`: a destination without it is
   * not used.
   */
  readonly acknowledge_personal_data: true;
  /** The settings of its type; secrets only as `{ "env": "VARIABLE" }` references. */
  readonly [setting: string]: unknown;
}

/** An API key that may submit messages to a project. Only its SHA-256 is stored. */
export interface ApiKeyConfig {
  /** SHA-256 of the key, lower-case hex (`sentcopy` prints it when it creates a key). */
  readonly sha256: string;
  /** What the key is for, e.g. `checkout service`. Shown in logs instead of the key. */
  readonly label?: string;
  /** When the key was created, UTC, ISO 8601 (`2026-12-05T00:00:00.000Z`); informational, shown by `sentcopy keys ls`. @default unknown */
  readonly created_at?: string;
  /**
   * From this moment (UTC, ISO 8601) the worker refuses the key with 401, as if it were unknown;
   * `sentcopy keys rotate` sets it on the key being replaced, for a grace period. @default never expires
   */
  readonly expires_at?: string;
}

/** A project: one sending application whose messages go to one destination. */
export interface ProjectConfig {
  /**
   * Name of the destination (a key of `destinations`). Omitted: the project has none, e.g. after
   * its destination was deleted; new messages are refused and queued ones dead-lettered.
   */
  readonly destination?: string;
  /**
   * Channels to archive; messages on other channels are refused. The known channels (`email`,
   * `sms`, `push`, `whatsapp`) or any other name of lower-case letters, digits, `_` and `-`
   * (at most 32, starting with a letter), such as `rcs`, `in_app` or `voice`: those get the generic
   * rules (id, time, recipient) and archive like the others.
   */
  readonly channels: readonly Channel[];
  /** How the stored JSON and key are shaped. @default 'sentcopy' */
  readonly profile?: ProfileName;
  /**
   * Key layout: a template or a preset name (`sentcopy`, `sentcopy-unkeyed`, `braze`, `clevertap`,
   * `iterable`). @default the profile's layout; for the `sentcopy` profile, `sentcopy` (keyed) when
   * `recipient_hash_key` is set, else `sentcopy-unkeyed`
   */
  readonly layout?: string;
  /** Compression. @default the profile's codec */
  readonly codec?: CodecName;
  /** Keys that may submit messages to this project. */
  readonly api_keys: readonly ApiKeyConfig[];
}

/** Where the worker reports a destination turning unhealthy (e.g. credentials refused) and recovering. */
export interface AlertsConfig {
  /** URL the worker POSTs a JSON notification to; a reference because webhook URLs usually embed a token. */
  readonly webhook_url: SecretReference;
  /** Shared secret: each notification is signed with `X-Sentcopy-Signature: sha256=<HMAC>`. @default unsigned */
  readonly secret?: SecretReference;
}

/** The durable queue. Read when the worker starts. */
export interface QueueConfig {
  /** Folder of the embedded queue; relative paths are resolved against the configuration file's folder. @default `.sentcopy/queue` */
  readonly path?: string;
}

/**
 * The archive ledger (see docs/ledger.md): a hash-chained record of every stored object, written
 * beside the archive in each destination under `.sentcopy-ledger/`, which `sentcopy verify
 * --complete` checks. On by default; applies live.
 */
export interface LedgerConfig {
  /** Write the ledger. `false` turns it off for every destination. @default true */
  readonly enabled?: boolean;
  /** Destinations (by name) that get no ledger although `enabled` is true. @default none */
  readonly disabled_destinations?: readonly string[];
  /** A segment is closed once it holds this many entries. @default 5000 */
  readonly segment_max_entries?: number;
  /**
   * A segment is closed this long after its first entry, in milliseconds: the longest a stored
   * message waits in the queue as "stored, not yet in the ledger". @default 10000
   */
  readonly segment_max_age_ms?: number;
  /** After a failed segment write (destination down, disk full), how long until it is tried again, in milliseconds. @default 30000 */
  readonly retry_delay_ms?: number;
}

/** Size limits of the HTTP intake. */
export interface HttpLimitsConfig {
  /** Largest request body, in bytes; keep it above `max_message_bytes` so a batch can carry one message of that size. @default 50331648 (48 MiB) */
  readonly max_body_bytes?: number;
  /** Most messages in one batch. @default 1000 */
  readonly max_batch_messages?: number;
  /** Largest single message (its JSON text), in bytes; checked before validation. @default 41943040 (40 MiB: an email with 25 MiB of attachments) */
  readonly max_message_bytes?: number;
}

/** The HTTP intake. Read when the worker starts. */
export interface HttpConfig {
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. @default 8787 */
  readonly port?: number;
  /** Size limits. */
  readonly limits?: HttpLimitsConfig;
  /** Who may read `GET /metrics` and the checks of `GET /readyz`. @default anyone who reaches the port */
  readonly metrics?: HttpMetricsConfig;
  /** Serve HTTPS with these files instead of plain HTTP. @default plain HTTP (put a TLS proxy in front, or keep the default 127.0.0.1) */
  readonly tls?: HttpTlsConfig;
}

/**
 * The HTTPS listener's certificate and key. Read when the worker starts (a missing, unreadable or
 * mismatched pair stops the start with an error naming the field), then watched: when either file
 * changes, the pair is loaded again and new connections get it; a pair that fails to load is
 * refused (log `tls.reload_failed`, metric `sentcopy_tls_reloads_total{result="refused"}`) and the
 * previous one keeps serving.
 */
export interface HttpTlsConfig {
  /** PEM file of the certificate followed by its intermediates; relative paths are resolved against the configuration file's folder. */
  readonly cert_file: string;
  /** PEM file of the certificate's private key (unencrypted; keep it mode 0600); relative paths are resolved against the configuration file's folder. */
  readonly key_file: string;
}

/** Access to the metrics and readiness detail, which name projects, destinations and buckets. */
export interface HttpMetricsConfig {
  /**
   * Bearer token (from an environment variable) that `GET /metrics` and the detail of
   * `GET /readyz` require; `/readyz` still answers 200/503 without it, with no names.
   */
  readonly token: SecretReference;
}

/** Overrides of the retry policy for `rate_limited` errors (see core's `RateLimitedPolicy`). */
export interface RateLimitedRetryConfig {
  /** Delay ceiling of the first retry, in milliseconds. @default 1000 */
  readonly initial_delay_ms?: number;
  /** Growth of the delay ceiling per attempt. @default 2 */
  readonly multiplier?: number;
  /** Largest delay ceiling, in milliseconds. @default 300000 */
  readonly max_delay_ms?: number;
  /** Give up this long after the first attempt, in milliseconds. @default never */
  readonly max_age_ms?: number;
}

/** Overrides of the retry policy for outages and refused credentials (see core's `OutagePolicy`). */
export interface OutageRetryConfig {
  /** Quick retries before the slow cadence. @default 3 */
  readonly quick_retries?: number;
  /** First quick retry's base delay, in milliseconds; doubles per retry. @default 1000 */
  readonly quick_initial_delay_ms?: number;
  /** Largest quick-retry delay, in milliseconds. @default 30000 */
  readonly quick_max_delay_ms?: number;
  /** Interval of the slow cadence, in milliseconds. @default 28800000 (8 hours) */
  readonly slow_interval_ms?: number;
  /** Random extra delay of each slow retry, as a fraction of `slow_interval_ms`. @default 0.05 */
  readonly slow_jitter_ratio?: number;
  /** Give up once a retry would fall later than this after the first attempt, in milliseconds. @default 604800000 (7 days) */
  readonly max_age_ms?: number;
}

/** Overrides of the queue's retry policy; unset fields keep the defaults. */
export interface RetryConfig {
  /** How `rate_limited` errors are retried. */
  readonly rate_limited?: RateLimitedRetryConfig;
  /** How `unreachable`, `unauthorized` and `unknown` errors are retried. */
  readonly outage?: OutageRetryConfig;
}

/** One account of `sentcopy view`. */
export interface ViewerAccountConfig {
  /** The name shown in the access log (letters, digits, `.`, `_`, `@`, `-`; at most 64). */
  readonly name: string;
  /** `scrypt$N$r$p$salt$hash` (salt and hash base64url), as `sentcopy view accounts add` writes it; never the password. */
  readonly password_hash: string;
  /** When the account was added, ISO 8601. */
  readonly created_at: string;
}

/** The archive viewer's section (`sentcopy view`); the worker ignores it. */
export interface ViewerConfig {
  /** Who may sign in to the viewer. @default none */
  readonly accounts?: readonly ViewerAccountConfig[];
}

/** The worker's configuration file, format version 1. */
export interface WorkerConfig {
  /** Format version: `1`. */
  readonly version: 1;
  /** Destinations by name (letters, digits, `-` and `_`). */
  readonly destinations: Readonly<Record<string, DestinationConfig>>;
  /** Projects by id (the `project_id` messages carry). */
  readonly projects: Readonly<Record<string, ProjectConfig>>;
  /**
   * The deployment's secret for keyed recipient hashes (`{hmac(recipient)}`, used by the
   * `sentcopy` profile's layout): HMAC-SHA-256 under this secret puts each recipient's folder in
   * the key, so people who can list the bucket cannot tell whose messages a folder holds, while
   * `sentcopy ls --recipient` (which reads the same variable) still finds them. At least 16 bytes;
   * `sentcopy init` and the worker's first run generate 32 random bytes into the env file beside
   * this file (`sentcopy.config.env`, mode 0600) and reference them here as
   * `{ "env": "SENTCOPY_RECIPIENT_KEY" }`. Keep the secret as long as the archive: messages stored
   * under one secret are not found by recipient with another.
   *
   * Without it, projects on the `sentcopy` profile with no `layout` keep the unkeyed layout of
   * earlier versions (`sentcopy-unkeyed`: plain SHA-256, reversible for phone numbers), and the
   * worker warns at every load; a `layout` that uses `{hmac(recipient)}` is refused.
   * @default none (the unkeyed layout, with a warning)
   */
  readonly recipient_hash_key?: SecretReference;
  /** Accounts of `sentcopy view`, the archive viewer; the worker ignores it. @default none (the viewer prints a start-up token) */
  readonly viewer?: ViewerConfig;
  /** Alert webhook; read when the worker starts. @default no alerts */
  readonly alerts?: AlertsConfig;
  /** The durable queue; read when the worker starts. @default `.sentcopy/queue` next to this file */
  readonly queue?: QueueConfig;
  /** The HTTP intake; read when the worker starts. @default 127.0.0.1:8787 */
  readonly http?: HttpConfig;
  /** Retry policy overrides for the queue; read when the worker starts. @default core's default policy */
  readonly retry?: RetryConfig;
  /** The archive ledger; applies live. @default on for every destination */
  readonly ledger?: LedgerConfig;
}
