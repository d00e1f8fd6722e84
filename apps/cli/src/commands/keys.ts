import { InvalidArgumentError, type Command } from 'commander';
import { generateApiKey, hashApiKey, type ApiKeyConfig, type ProjectConfig, type WorkerConfig } from '@sentcopy/worker';
import { addClusterOptions, CliError, clusterOf, defaultConfigFile, describeSaveReport, emit, exitCodes, readConfig, saveConfig, saveReportExitCode, textTable, type LoadedConfig, type SaveReport } from '../cli-kit/index.js';

/** How long `keys rotate` keeps the replaced key working, unless `--grace` says otherwise. */
export const defaultRotationGrace = '24h';

/** Characters of a key's SHA-256 shown as its id (never the key itself). */
const keyIdLength = 12;

const durationUnits: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `90s`, `15m`, `24h` or `30d` (0 allowed, at most 3650 days) into milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d{1,7})([smhd])$/.exec(value.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * durationUnits[match[2]!]!;
  if (!Number.isSafeInteger(ms) || ms > 3650 * 86_400_000) throw new InvalidArgumentError('must be a duration such as 30m, 24h or 7d (s, m, h or d; at most 3650d).');
  return ms;
}

/** The id `keys ls` shows for a key: the start of its SHA-256 (the key cannot be recovered from it). */
export const keyId = (key: ApiKeyConfig): string => key.sha256.slice(0, keyIdLength);

/** A new key for a project: the plain key (show it once) and the entry the configuration stores. */
export function newKey(label: string | undefined, now: Date, expiresAt?: Date): { apiKey: string; entry: ApiKeyConfig } {
  const apiKey = generateApiKey();
  return { apiKey, entry: { sha256: hashApiKey(apiKey), ...(label === undefined ? {} : { label }), created_at: now.toISOString(), ...(expiresAt === undefined ? {} : { expires_at: expiresAt.toISOString() }) } };
}

/** Whether the worker still accepts a key at `now`. */
export const keyActive = (key: ApiKeyConfig, now: number): boolean => key.expires_at === undefined || Date.parse(key.expires_at) > now;

/** The configuration with one project replaced by `change(project)`. */
export function withProject(config: WorkerConfig, id: string, project: ProjectConfig): WorkerConfig {
  return { ...config, projects: { ...config.projects, [id]: project } };
}

/** The project, or a not-found error that lists the configured ones. */
export function requireProject(loaded: LoadedConfig, id: string): ProjectConfig {
  const project = Object.hasOwn(loaded.config.projects, id) ? loaded.config.projects[id] : undefined;
  if (project === undefined) {
    const known = Object.keys(loaded.config.projects);
    throw new CliError(`No project "${id}" in ${loaded.file}.`, {
      exitCode: exitCodes.notFound,
      code: 'project_not_found',
      hint: known.length === 0 ? 'Add one with `sentcopy projects add ID`.' : `Configured projects: ${known.join(', ')}.`,
    });
  }
  return project;
}

/** Saves the changed configuration, prints the result, and sets the exit code from what the workers said. */
export async function saveAndReport(loaded: LoadedConfig, config: WorkerConfig, options: { json?: boolean }, result: Record<string, unknown>, human: string[]): Promise<void> {
  const report: SaveReport = await saveConfig(loaded, config);
  emit(options, { ...result, config: loaded.file, ...(report.workers === undefined ? {} : { workers: report.workers }), ...(report.unsetVariables === undefined ? {} : { unsetVariables: report.unsetVariables }) }, () =>
    [...human, ...describeSaveReport(report)].join('\n'),
  );
  process.exitCode = saveReportExitCode(report);
}

interface KeysOptions {
  readonly config: string;
  readonly nats?: string;
  readonly natsName?: string;
  readonly json?: boolean;
}

const load = (options: KeysOptions) => readConfig(options.config, clusterOf(options));

/** Finds the key `id` names (a prefix of its SHA-256, at least 6 characters), in one project or in all. */
function findKey(config: WorkerConfig, id: string | undefined, project: string | undefined, now: number): { project: string; index: number } {
  const projects = project === undefined ? Object.keys(config.projects) : [project];
  if (id === undefined) {
    const active = projects.flatMap((name) => (config.projects[name]?.api_keys ?? []).map((key, index) => ({ project: name, index, key })).filter((entry) => keyActive(entry.key, now)));
    if (project !== undefined && active.length === 1) return active[0]!;
    throw new CliError(project === undefined ? 'Name the key with --key ID, or the project with --project.' : `Project "${project}" has ${active.length} active keys; name one with --key ID.`, {
      exitCode: exitCodes.usage,
      code: 'usage',
      hint: '`sentcopy keys ls` shows the ids.',
    });
  }
  const wanted = id.trim().toLowerCase();
  if (!/^[0-9a-f]{6,64}$/.test(wanted)) throw new CliError(`--key "${id}" is not a key id: use at least 6 characters of the ID column of \`sentcopy keys ls\`.`, { exitCode: exitCodes.usage, code: 'usage' });
  const found = projects.flatMap((name) => (config.projects[name]?.api_keys ?? []).map((key, index) => ({ project: name, index, key })).filter((entry) => entry.key.sha256.startsWith(wanted)));
  if (found.length === 0) throw new CliError(`No key ${wanted}${project === undefined ? '' : ` in project "${project}"`}.`, { exitCode: exitCodes.notFound, code: 'key_not_found', hint: '`sentcopy keys ls` shows the ids.' });
  if (found.length > 1) throw new CliError(`--key ${wanted} matches ${found.length} keys.`, { exitCode: exitCodes.usage, code: 'usage', hint: 'Give more characters of the id.' });
  return found[0]!;
}

function describeKeyState(key: ApiKeyConfig, now: number): string {
  if (key.expires_at === undefined) return 'active';
  return keyActive(key, now) ? `active until ${key.expires_at}` : `expired ${key.expires_at}`;
}

function keyRow(project: string, key: ApiKeyConfig, now: number) {
  return { project, id: keyId(key), label: key.label ?? null, created_at: key.created_at ?? null, expires_at: key.expires_at ?? null, active: keyActive(key, now) };
}

function printKeyOnce(apiKey: string): string[] {
  return ['The key is shown only now (the configuration stores its SHA-256):', '', `  export SENTCOPY_KEY=${apiKey}`, ''];
}

/** `sentcopy keys add|ls|rotate|revoke`: a project's API keys, stored hashed, applied live. */
export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description("Add, list, rotate and revoke projects' API keys (stored as SHA-256; each key is shown once).")
    .addHelpText(
      'after',
      `
Changes are written to the configuration file (atomically) or, with --nats, to the cluster's
configuration; running workers apply them within seconds. A rotated key keeps working for a grace
period (--grace, default ${defaultRotationGrace}) so senders can switch; a revoked key is refused at once.

Examples:
  $ sentcopy keys add --project checkout --label "checkout service"
  $ sentcopy keys ls
  $ sentcopy keys rotate --project checkout --grace 2h
  $ sentcopy keys revoke 3f2a9c81d0b4 --nats nats://10.0.0.5:4222`,
    );

  const common = (command: Command) => addClusterOptions(command.option('-c, --config <file>', 'configuration file', defaultConfigFile)).option('--json', 'print the result as JSON');

  common(
    keys
      .command('add')
      .description('Create an API key for a project and print it once.')
      .requiredOption('--project <id>', 'the project the key submits messages to')
      .option('--label <text>', 'what the key is for, e.g. "checkout service" (shown by keys ls and in logs)')
      .option('--expires-in <duration>', 'refuse the key after this long, e.g. 90d (default: never)', parseDuration),
  )
    .addHelpText('after', '\nExamples:\n  $ sentcopy keys add --project checkout --label "checkout service"\n  $ KEY=$(sentcopy keys add --project checkout --json | jq -r .apiKey)')
    .action(async (options: KeysOptions & { project: string; label?: string; expiresIn?: number }) => {
      const loaded = await load(options);
      const project = requireProject(loaded, options.project);
      const now = new Date();
      const { apiKey, entry } = newKey(options.label, now, options.expiresIn === undefined ? undefined : new Date(now.getTime() + options.expiresIn));
      await saveAndReport(loaded, withProject(loaded.config, options.project, { ...project, api_keys: [...project.api_keys, entry] }), options, { ...keyRow(options.project, entry, now.getTime()), apiKey }, [
        `Added key ${keyId(entry)} to project "${options.project}" in ${loaded.file}.`,
        ...printKeyOnce(apiKey),
      ]);
    });

  common(keys.command('ls').description('List API keys: project, id, label, creation and expiry (never the keys).').option('--project <id>', 'only this project'))
    .addHelpText('after', '\nExamples:\n  $ sentcopy keys ls\n  $ sentcopy keys ls --project checkout --json')
    .action(async (options: KeysOptions & { project?: string }) => {
      const loaded = await load(options);
      if (options.project !== undefined) requireProject(loaded, options.project);
      const now = Date.now();
      const rows = Object.entries(loaded.config.projects)
        .filter(([id]) => options.project === undefined || id === options.project)
        .flatMap(([id, project]) => project.api_keys.map((key) => ({ row: keyRow(id, key, now), state: describeKeyState(key, now) })));
      emit(options, { keys: rows.map((entry) => entry.row) }, () =>
        rows.length === 0
          ? 'No API keys.'
          : textTable(
              ['PROJECT', 'ID', 'LABEL', 'CREATED', 'STATE'],
              rows.map(({ row, state }) => [row.project, row.id, row.label ?? '', row.created_at ?? 'unknown', state]),
            ),
      );
    });

  common(
    keys
      .command('rotate')
      .description('Create a new key for a project and keep the old one working for a grace period only.')
      .argument('[id]', 'the key to replace (an id from keys ls); optional when the project has one active key')
      .option('--project <id>', 'the project of the key')
      .option('--grace <duration>', `how long the old key keeps working, e.g. 30m, 24h, 7d; 0 refuses it at once (default ${defaultRotationGrace})`, parseDuration)
      .option('--label <text>', "label of the new key (default: the old key's)"),
  )
    .addHelpText(
      'after',
      `
The new key is printed once. The old key gets expires_at = now + grace: workers refuse it from then
on, with no further change needed. Deploy the new key to your senders within the grace period.

Examples:
  $ sentcopy keys rotate --project checkout
  $ sentcopy keys rotate 3f2a9c81d0b4 --grace 2h --json`,
    )
    .action(async (id: string | undefined, options: KeysOptions & { project?: string; grace?: number; label?: string }) => {
      const loaded = await load(options);
      if (options.project !== undefined) requireProject(loaded, options.project);
      const now = new Date();
      const found = findKey(loaded.config, id, options.project, now.getTime());
      const project = loaded.config.projects[found.project]!;
      const old = project.api_keys[found.index]!;
      const graceMs = options.grace ?? parseDuration(defaultRotationGrace);
      const graceEnd = new Date(now.getTime() + graceMs);
      // A key that already expires sooner keeps its earlier end: rotating never extends a key's life.
      const expiresAt = old.expires_at !== undefined && Date.parse(old.expires_at) < graceEnd.getTime() ? old.expires_at : graceEnd.toISOString();
      const label = options.label ?? old.label;
      const { apiKey, entry } = newKey(label, now);
      const apiKeys = project.api_keys.map((key, index) => (index === found.index ? { ...key, expires_at: expiresAt } : key));
      await saveAndReport(
        loaded,
        withProject(loaded.config, found.project, { ...project, api_keys: [...apiKeys, entry] }),
        options,
        { ...keyRow(found.project, entry, now.getTime()), apiKey, replaced: { id: keyId(old), expires_at: expiresAt } },
        [`Added key ${keyId(entry)} to project "${found.project}"; key ${keyId(old)} keeps working until ${expiresAt}.`, ...printKeyOnce(apiKey)],
      );
    });

  common(keys.command('revoke').description('Remove an API key: workers refuse it at once.').argument('<id>', 'the key (an id from keys ls, at least 6 characters)').option('--project <id>', 'the project of the key'))
    .addHelpText('after', '\nExamples:\n  $ sentcopy keys revoke 3f2a9c81d0b4\n  $ sentcopy keys revoke 3f2a9c --project checkout --nats nats://10.0.0.5:4222')
    .action(async (id: string, options: KeysOptions & { project?: string }) => {
      const loaded = await load(options);
      if (options.project !== undefined) requireProject(loaded, options.project);
      const found = findKey(loaded.config, id, options.project, Date.now());
      const project = loaded.config.projects[found.project]!;
      const removed = project.api_keys[found.index]!;
      const remaining = project.api_keys.filter((_, index) => index !== found.index);
      const left = remaining.filter((key) => keyActive(key, Date.now())).length;
      await saveAndReport(loaded, withProject(loaded.config, found.project, { ...project, api_keys: remaining }), options, { project: found.project, revoked: keyId(removed), activeKeysLeft: left }, [
        `Revoked key ${keyId(removed)} of project "${found.project}" in ${loaded.file}; workers refuse it from now on.`,
        ...(left === 0 ? [`Project "${found.project}" has no active key left: add one with \`sentcopy keys add --project ${found.project}\`.`] : []),
      ]);
    });
}
