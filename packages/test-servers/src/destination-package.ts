import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The package name of the third-party destination {@link installMemoPackage} installs. */
export const memoPackage = '@acme/sentcopy-destination-memo';

/**
 * What the installed package's `index.js` exports: a good descriptor, none, one of specification
 * `v2`, one whose settings schema uses a keyword (`format`) sentcopy cannot check, or a good one
 * whose destination does not say whether its store keeps earlier versions of objects
 * (`versions-unknown`: no `capabilities.versions`, as a package written before that field).
 */
export type MemoVariant = 'good' | 'no-descriptor' | 'version-v2' | 'unknown-keyword' | 'versions-unknown';

// A third party's code, as its author would publish it: plain ESM that knows only the published
// contract, wrapping the fs destination (installed next to it, like any dependency) in a folder per shelf.
const source = (variant: MemoVariant) => `import path from 'node:path';
import { createFsDestination } from '@sentcopy/destination-fs';

const descriptor = {
  specificationVersion: ${variant === 'version-v2' ? "'v2'" : "'v1'"},
  type: '${memoPackage}',
  packageName: '${memoPackage}',
  title: 'Memo shelves (a test package)',
  settingsSchema: {
    type: 'object',
    properties: {
      folder: { type: 'string', minLength: 1, 'x-path': true, description: 'Folder the shelves are kept in; relative to the configuration file.' },
      shelf: { type: 'integer', minimum: 1, description: 'Shelf number.' },
      token: { 'x-secret': true, description: 'Access token.' },
      labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Free-form labels (not secrets, whatever their shape).' },
      ${variant === 'unknown-keyword' ? "label: { type: 'string', format: 'hostname' }," : ''}
    },
    required: ['folder', 'shelf'],
    additionalProperties: false,
  },
  options: [
    { setting: 'folder', flag: 'memo-folder', value: 'dir', description: 'folder the shelves are kept in' },
    { setting: 'shelf', flag: 'shelf', value: 'number', description: 'shelf number, 1 or more' },
    { setting: 'token', flag: 'memo-token-env', value: 'var', description: 'environment variable holding the access token' },
  ],
  checkSettings: (settings) => (settings.shelf === 13 ? [{ path: 'shelf', problem: 'is unlucky: pick another shelf' }] : []),
  describeLocation: (settings) => 'memo shelf ' + settings.shelf,
  create(settings, context) {
    const token = context.readSecret('token');
    if (token !== undefined && token !== 'open-sesame') throw new Error('the memo token is wrong');
    const destination = createFsDestination({ root: path.join(settings.folder, 'shelf-' + settings.shelf), fsync: false });
    ${variant === 'versions-unknown' ? 'const { versions: _versions, ...capabilities } = destination.capabilities;\n    return { ...destination, capabilities };' : 'return destination;'}
  },
};

${variant === 'no-descriptor' ? 'export const somethingElse = descriptor;' : 'export const destinationDescriptor = descriptor;'}
`;

/** Where a shelf of the memo destination keeps its objects. */
export const shelfRoot = (folder: string, shelf: number): string => path.join(folder, `shelf-${shelf}`);

/**
 * Installs a third-party destination package, `@acme/sentcopy-destination-memo`, into
 * `folder/node_modules` as npm would: its own `package.json` with `exports`, and its dependency
 * `@sentcopy/destination-fs` linked beside it from `fsPackageDir` (the workspace's package folder).
 * Its descriptor wraps the fs destination in a folder per shelf: settings `folder` (x-path),
 * `shelf` (integer, 1 or more; 13 is refused by its own rule) and `token` (x-secret, must read
 * `open-sesame` when given) and `labels` (any object of strings, not a secret); options `--memo-folder`, `--shelf`, `--memo-token-env`.
 */
export function installMemoPackage(folder: string, fsPackageDir: string, variant: MemoVariant = 'good'): void {
  const modules = path.join(folder, 'node_modules');
  const packageDir = path.join(modules, ...memoPackage.split('/'));
  mkdirSync(packageDir, { recursive: true });
  writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify({ name: memoPackage, version: '1.0.0', type: 'module', exports: { '.': { import: './index.js' } }, dependencies: { '@sentcopy/destination-fs': '*' } }, null, 2));
  writeFileSync(path.join(packageDir, 'index.js'), source(variant));
  mkdirSync(path.join(modules, '@sentcopy'), { recursive: true });
  try {
    symlinkSync(fsPackageDir, path.join(modules, '@sentcopy', 'destination-fs'), 'dir');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
