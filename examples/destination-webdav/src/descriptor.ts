import type { DestinationDescriptorV1 } from '@sentcopy/core';
import { createWebdavDestination } from './webdav-destination.js';

/** The package name: the `type` a sentcopy configuration names this destination by. */
export const webdavDestinationType = '@sentcopy-examples/destination-webdav';

/** A WebDAV destination's entry in a sentcopy configuration file (secrets as environment variable references). */
export interface WebdavDestinationConfig {
  /** The WebDAV folder objects are stored under (`http:` or `https:`, no credentials in it). */
  readonly url: string;
  /** Folder below `url` that holds the archive. @default '' */
  readonly folder?: string;
  /** User name for HTTP Basic authentication. */
  readonly username?: string;
  /** The environment variable holding the password. */
  readonly password?: { readonly env: string };
  /** Deadline of one request, in milliseconds. @default 60000 */
  readonly call_timeout_ms?: number;
}

/** How sentcopy's worker and CLI validate, create and edit a WebDAV destination named by {@link webdavDestinationType}. */
export const destinationDescriptor: DestinationDescriptorV1<WebdavDestinationConfig> = {
  specificationVersion: 'v1',
  type: webdavDestinationType,
  packageName: webdavDestinationType,
  title: 'WebDAV folder (example third-party destination)',
  settingsSchema: {
    type: 'object',
    properties: {
      url: { type: 'string', pattern: '^https?://[^/@?#]+(/[^?#]*)?$', description: 'The WebDAV folder objects are stored under, e.g. https://dav.example.com/archive/ (no credentials in it).' },
      folder: { type: 'string', description: 'Folder below url that holds the archive; created on first write.' },
      username: { type: 'string', minLength: 1, description: 'User name for HTTP Basic authentication.' },
      password: {
        type: 'object',
        'x-secret': true,
        description: 'The password for HTTP Basic authentication, read from an environment variable.',
        properties: { env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the environment variable.' } },
        required: ['env'],
        additionalProperties: false,
      },
      call_timeout_ms: { type: 'integer', minimum: 1, description: 'Deadline of one request, in milliseconds (default 60000).' },
    },
    required: ['url'],
    additionalProperties: false,
  },
  options: [
    { setting: 'url', flag: 'url', value: 'url', description: 'The WebDAV folder to store objects under (http: or https:).' },
    { setting: 'folder', flag: 'folder', value: 'path', description: 'Folder below --url that holds the archive (default: --url itself).' },
    { setting: 'username', flag: 'username', value: 'name', description: 'User name for HTTP Basic authentication.' },
    { setting: 'password', flag: 'password-env', value: 'variable', description: 'Environment variable holding the password.' },
    { setting: 'call_timeout_ms', flag: 'call-timeout-ms', value: 'ms', description: 'Deadline of one request, in milliseconds (default 60000).' },
  ],
  create: (settings, context) => createWebdavDestination({ url: settings.url, folder: settings.folder, username: settings.username, password: context.readSecret('password'), callTimeoutMs: settings.call_timeout_ms }),
};
