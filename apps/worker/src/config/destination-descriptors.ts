import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DestinationDescriptorV1, DestinationSettingSchema } from '@sentcopy/core';
import { resolve as resolveFrom } from 'import-meta-resolve';
import { understoodSchemaKeywords } from './schema-check.js';

/** The destination types sentcopy ships, each in its own package. */
export const firstPartyDestinationTypes = ['fs', 's3', 'azure', 'gcs'] as const;

/** A destination type sentcopy ships; any other `type` in a configuration is the package name of a third-party destination. */
export type FirstPartyDestinationType = (typeof firstPartyDestinationTypes)[number];

/** The package that provides each first-party destination type. */
export const destinationPackages: Readonly<Record<FirstPartyDestinationType, string>> = {
  fs: '@sentcopy/destination-fs',
  s3: '@sentcopy/destination-s3',
  azure: '@sentcopy/destination-azure',
  gcs: '@sentcopy/destination-gcs',
};

/**
 * A descriptor whatever its settings type: what the worker takes in, since it knows a package's
 * settings only through its schema.
 */
// `unknown` would not accept a descriptor whose settings type is an interface.
export type AnyDestinationDescriptor = DestinationDescriptorV1<any>;

/** Imports a package by name from the worker's own installation. */
export type PackageImporter = (name: string) => Promise<unknown>;

/** Where destination descriptors are looked up. */
export interface DescriptorSourceOptions {
  /**
   * The configuration file's folder: a third-party package named by a destination's `type` is
   * looked up from here first (so `npm install @acme/x` next to the file works), then from the
   * worker's own installation. @default process.cwd()
   */
  readonly baseDir?: string;
  /** How packages are imported from the worker's own installation (bundled deployments, tests). @default `import(name)` */
  readonly importPackage?: PackageImporter;
  /** Descriptors to use before any package is looked up, matched by `type` (bundled deployments, tests). @default none */
  readonly descriptors?: readonly AnyDestinationDescriptor[];
}

/** A descriptor found for a `type`, or the sentence saying why none could be used. */
export type DescriptorResolution = { readonly ok: true; readonly descriptor: AnyDestinationDescriptor } | { readonly ok: false; readonly problem: string };

const frameOnlyKeywords = new Set(['propertyNames', 'uniqueItems', 'oneOf', '$schema', '$id']);

/** JSON Schema keywords a descriptor's settings schema may use: those the worker's checker enforces, and annotations. */
// The checker's own list, less what only the worker's frame uses (and the DestinationSettingSchema type does not allow).
export const descriptorSchemaKeywords: readonly string[] = understoodSchemaKeywords.filter((keyword) => !frameOnlyKeywords.has(keyword));

/** Settings the worker owns in every destination entry; a descriptor may not declare them. */
const workerOwnedSettings = ['type', 'acknowledge_personal_data'];

// An npm package name, optionally scoped: what a third-party `type` must look like.
const packageNamePattern = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

// Literal specifiers, so bundlers and TypeScript see each package; only the one in use is loaded.
const ownInstallation: PackageImporter = (name) => {
  switch (name) {
    case '@sentcopy/destination-fs':
      return import('@sentcopy/destination-fs');
    case '@sentcopy/destination-s3':
      return import('@sentcopy/destination-s3');
    case '@sentcopy/destination-azure':
      return import('@sentcopy/destination-azure');
    case '@sentcopy/destination-gcs':
      return import('@sentcopy/destination-gcs');
    default:
      return import(name);
  }
};

let installationDir: string | undefined;
/** The folder of the worker's own package, from which {@link ownInstallation} resolves a bare name (the nearest folder above this module with a package.json). */
function ownInstallationDir(): string {
  if (installationDir !== undefined) return installationDir;
  let folder = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(folder, 'package.json')) && path.dirname(folder) !== folder) folder = path.dirname(folder);
  installationDir = folder;
  return folder;
}

const isFirstParty = (type: string): type is FirstPartyDestinationType => (firstPartyDestinationTypes as readonly string[]).includes(type);

function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(name);
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Imports `name` as the configuration file's folder sees it; `undefined` when it is not installed there. */
async function importFromFolder(name: string, baseDir: string): Promise<unknown> {
  let url: string;
  try {
    url = resolveFrom(name, pathToFileURL(`${baseDir.replace(/\/+$/, '')}/`).href);
  } catch (error) {
    if (isMissingPackage(error, name)) return undefined;
    throw error;
  }
  return import(url);
}

/** Every problem of a settings schema's keywords, by JSON path inside it. */
function unknownKeywords(schema: unknown, at: string, found: string[]): string[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return found;
  for (const [keyword, value] of Object.entries(schema)) {
    if (!descriptorSchemaKeywords.includes(keyword)) found.push(`"${keyword}" (at ${at})`);
    else if (keyword === 'properties' && typeof value === 'object' && value !== null) for (const [name, child] of Object.entries(value)) unknownKeywords(child, `${at}.properties.${name}`, found);
    else if (keyword === 'items' || (keyword === 'additionalProperties' && typeof value === 'object')) unknownKeywords(value, `${at}.${keyword}`, found);
  }
  return found;
}

/**
 * Checks what a module exports as `destinationDescriptor`; the problem, as a sentence, or
 * `undefined` when it is a descriptor this worker can use for `type`.
 */
export function checkDescriptor(candidate: unknown, type: string, packageName: string): string | undefined {
  if (typeof candidate !== 'object' || candidate === null) {
    return `the package ${packageName} exports no destinationDescriptor, so it is not a sentcopy destination package (or one made for another version): use a package that exports one (see docs/destination-authors.md)`;
  }
  const descriptor = candidate as Partial<DestinationDescriptorV1> & { specificationVersion?: unknown };
  if (descriptor.specificationVersion !== 'v1') {
    return `the package ${packageName} implements destination descriptor specification ${JSON.stringify(descriptor.specificationVersion ?? null)}, and this worker knows "v1": install a version of ${packageName} made for this sentcopy, or upgrade sentcopy`;
  }
  if (descriptor.type !== type) return `the package ${packageName} describes the type ${JSON.stringify(descriptor.type)}, not "${type}": name it by the type it describes`;
  const schema = descriptor.settingsSchema as DestinationSettingSchema | undefined;
  if (typeof descriptor.create !== 'function' || !Array.isArray(descriptor.options) || schema?.type !== 'object' || typeof schema.properties !== 'object') {
    return `the package ${packageName}'s destinationDescriptor is incomplete (it needs settingsSchema of type "object" with properties, options and create()): report it to its authors`;
  }
  const owned = workerOwnedSettings.filter((name) => Object.hasOwn(schema.properties as object, name));
  if (owned.length > 0) return `the package ${packageName}'s settings schema declares ${owned.join(' and ')}, which the worker owns: report it to its authors`;
  const unknown = unknownKeywords(schema, 'settingsSchema', []);
  if (unknown.length > 0) {
    return `the package ${packageName}'s settings schema uses the JSON Schema keyword${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, which sentcopy cannot check (it understands ${descriptorSchemaKeywords.join(', ')}): ask its authors for a version that keeps to those`;
  }
  return undefined;
}

/**
 * Finds the descriptor of a destination `type`: a first-party short name (`fs`, `s3`, `azure`,
 * `gcs`) from the worker's own installation, then from the configuration's folder; any other name
 * is a package name, looked up from the configuration's folder first, then from the worker's
 * installation. Never throws: what stands in the way is a sentence saying what to do.
 */
export async function resolveDestinationDescriptor(type: string, options: DescriptorSourceOptions = {}): Promise<DescriptorResolution> {
  const given = options.descriptors?.find((descriptor) => descriptor.type === type);
  if (given !== undefined) {
    const problem = checkDescriptor(given, type, given.packageName);
    return problem === undefined ? { ok: true, descriptor: given } : { ok: false, problem };
  }
  const firstParty = isFirstParty(type);
  if (!firstParty && !packageNamePattern.test(type)) {
    return { ok: false, problem: `must be one of ${firstPartyDestinationTypes.map((name) => `"${name}"`).join(', ')}, or the package name of a third-party destination (e.g. "@acme/sentcopy-destination-webdav")` };
  }
  const packageName = firstParty ? destinationPackages[type] : type;
  const baseDir = options.baseDir ?? process.cwd();
  const fromInstallation = async () => {
    try {
      return await (options.importPackage ?? ownInstallation)(packageName);
    } catch (error) {
      if (isMissingPackage(error, packageName)) return undefined;
      throw error;
    }
  };
  let loaded: unknown;
  try {
    loaded = firstParty ? ((await fromInstallation()) ?? (await importFromFolder(packageName, baseDir))) : ((await importFromFolder(packageName, baseDir)) ?? (await fromInstallation()));
  } catch (error) {
    return { ok: false, problem: `the package ${packageName} could not be loaded (${describe(error)}): reinstall it, or report it to its authors` };
  }
  if (loaded === undefined) {
    return {
      ok: false,
      problem: firstParty
        ? `"${type}" needs the package ${packageName}: install ${packageName} next to @sentcopy/worker (npm install ${packageName})`
        : `names the package ${packageName}, which is not installed: looked for it from the configuration's folder (${baseDir}) and from ${options.importPackage === undefined ? `the worker's installation (${ownInstallationDir()})` : "the worker's own package importer"}; install it in either (npm install ${packageName} in the configuration's folder, or next to @sentcopy/worker)`,
    };
  }
  const candidate = (loaded as { destinationDescriptor?: unknown }).destinationDescriptor;
  const problem = checkDescriptor(candidate, type, packageName);
  return problem === undefined ? { ok: true, descriptor: candidate as DestinationDescriptorV1 } : { ok: false, problem };
}

/** The descriptors of sentcopy's own destination packages that are installed next to the worker. */
export async function firstPartyDescriptors(options: Pick<DescriptorSourceOptions, 'importPackage'> = {}): Promise<AnyDestinationDescriptor[]> {
  const found = await Promise.all(firstPartyDestinationTypes.map((type) => resolveDestinationDescriptor(type, { ...options, baseDir: process.cwd() })));
  return found.flatMap((resolution) => (resolution.ok ? [resolution.descriptor] : []));
}

/** Dotted paths of the settings a descriptor marks with `mark` (`x-secret` or `x-path`), nested objects included. */
export function markedSettings(descriptor: AnyDestinationDescriptor, mark: 'x-secret' | 'x-path'): string[] {
  const found: string[] = [];
  const walk = (schema: DestinationSettingSchema, prefix: string) => {
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      const at = prefix === '' ? name : `${prefix}.${name}`;
      if (child[mark] === true) found.push(at);
      else if (child.properties !== undefined) walk(child, at);
    }
  };
  walk(descriptor.settingsSchema, '');
  return found;
}

/** The value at a dotted path of `record`; `undefined` when any part is absent. */
export function settingAt(record: unknown, dotted: string): unknown {
  let node = record;
  for (const part of dotted.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** A destination entry's settings: every field but the worker's own `type` and `acknowledge_personal_data`. */
export function settingsOf(entry: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { type: _type, acknowledge_personal_data: _acknowledged, ...settings } = entry;
  return settings;
}
