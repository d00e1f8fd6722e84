import { Storage, type StorageOptions } from '@google-cloud/storage';
import type { GcsDestinationSettings } from './gcs-destination-settings.js';

/**
 * Builds the `Storage` client the destination uses when none is injected: credentials (inline
 * key, key file, or Application Default Credentials), endpoint, universe, and the SDK's own
 * retries off unless `sdkMaxRetries` asks for some.
 */
export function createGcsStorage(settings: GcsDestinationSettings): Storage {
  const credentials = settings.credentials;
  const explicit = credentials !== undefined || settings.keyFilename !== undefined;
  const retries = settings.sdkMaxRetries ?? 0;
  const options: StorageOptions = {
    ...(settings.projectId === undefined ? {} : { projectId: settings.projectId }),
    ...(settings.apiEndpoint === undefined ? {} : { apiEndpoint: settings.apiEndpoint.replace(/\/+$/, '') }),
    ...(settings.universeDomain === undefined ? {} : { universeDomain: settings.universeDomain }),
    ...(settings.keyFilename === undefined ? {} : { keyFilename: settings.keyFilename }),
    ...(credentials === undefined
      ? {}
      : {
          credentials: {
            type: 'service_account',
            client_email: credentials.client_email,
            // Keys pasted from JSON into environment variables often carry literal `\n`.
            private_key: credentials.private_key.replace(/\\n/g, '\n'),
            ...(credentials.private_key_id === undefined ? {} : { private_key_id: credentials.private_key_id }),
            ...(credentials.universe_domain === undefined ? {} : { universe_domain: credentials.universe_domain }),
          } as StorageOptions['credentials'],
          ...(settings.projectId === undefined && credentials.project_id !== undefined ? { projectId: credentials.project_id } : {}),
        }),
    useAuthWithCustomEndpoint: settings.authenticateCustomEndpoint ?? explicit,
    // The SDK treats maxRetries 0 as "use the default (3)", so retries are switched off with autoRetry instead.
    retryOptions: retries > 0 ? { autoRetry: true, maxRetries: retries } : { autoRetry: false },
  };
  return new Storage(options);
}
