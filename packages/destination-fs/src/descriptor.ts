import path from 'node:path';
import type { DestinationDescriptorV1 } from '@sentcopy/core';
import { createFsDestination } from './create-fs-destination.js';

/** A `fs` destination as a configuration file holds it (snake_case, every field but `type` and the acknowledgement). */
export interface FsDestinationFileSettings {
  /** The archive's root folder; relative paths are resolved against the configuration file's folder. */
  readonly root: string;
  /** Flush every object to disk before reporting it stored. @default true */
  readonly fsync?: boolean;
  /** Whether the first probe or write may create a missing root; never again afterwards. Set `false` for a mounted volume. @default true */
  readonly create_root?: boolean;
  /** Refuse the root until it is a mount point, so nothing lands on the disk beneath an unmounted volume. @default false */
  readonly require_mount_point?: boolean;
  /** Permission bits of archived files, in octal (e.g. `"0640"`). @default "0600" */
  readonly file_mode?: string;
  /** Permission bits of the folders the destination creates, in octal. @default "0700" */
  readonly directory_mode?: string;
}

const octal = (value: string | undefined) => (value === undefined ? undefined : Number.parseInt(value, 8));
const given = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

/** How sentcopy's worker and CLI validate, create and edit `fs` destinations. */
export const destinationDescriptor: DestinationDescriptorV1<FsDestinationFileSettings> = {
  specificationVersion: 'v1',
  type: 'fs',
  packageName: '@sentcopy/destination-fs',
  title: 'A folder on this machine',
  settingsSchema: {
    type: 'object',
    properties: {
      root: { type: 'string', minLength: 1, 'x-path': true, description: 'Archive folder; relative to the configuration file.' },
      fsync: { type: 'boolean', description: 'Flush every object to disk before reporting it stored. Default true.' },
      create_root: { type: 'boolean', description: 'Whether the first probe or write may create a missing root (never again afterwards). Default true; false for a mounted volume.' },
      require_mount_point: { type: 'boolean', description: 'Refuse the root until it is a mount point. Default false.' },
      file_mode: { type: 'string', pattern: '^0?[0-7]{3}$', description: 'Permission bits of archived files, in octal. Default "0600".' },
      directory_mode: { type: 'string', pattern: '^0?[0-7]{3}$', description: 'Permission bits of the folders it creates, in octal. Default "0700".' },
    },
    required: ['root'],
    additionalProperties: false,
  },
  options: [
    { setting: 'root', flag: 'root', value: 'dir', description: 'archive folder' },
    { setting: 'fsync', flag: 'fsync', description: 'flush each object to disk before reporting it stored (default on; --no-fsync turns it off)' },
    { setting: 'create_root', flag: 'create-root', description: 'let the first probe or write create a missing folder (default on; --no-create-root for a mounted volume)' },
    { setting: 'require_mount_point', flag: 'require-mount-point', description: 'refuse the folder until it is a mount point (nothing lands beneath an unmounted volume)' },
    { setting: 'file_mode', flag: 'file-mode', value: 'octal', description: 'permission bits of archived files (default 0600)' },
    { setting: 'directory_mode', flag: 'directory-mode', value: 'octal', description: 'permission bits of the folders it creates (default 0700)' },
  ],
  describeLocation: (settings) => settings.root,
  create: (settings, context) =>
    createFsDestination({
      root: path.resolve(context.baseDir, settings.root),
      ...given('fsync', settings.fsync),
      ...given('createRoot', settings.create_root),
      ...given('requireMountPoint', settings.require_mount_point),
      ...given('fileMode', octal(settings.file_mode)),
      ...given('directoryMode', octal(settings.directory_mode)),
    }),
};
