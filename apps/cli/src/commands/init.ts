import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { defaultConfig, defaultRecipientKeyVariable, ensureRecipientKeyInEnvFile, envFileFor } from '@sentcopy/worker';
import { askYesNo, canPrompt, CliError, defaultConfigFile, emit, exitCodes, writeConfig } from '../cli-kit/index.js';

interface InitOptions {
  readonly config: string;
  readonly project: string;
  readonly archive: string;
  readonly force?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
}

/** `sentcopy init`: writes a configuration that works at once (a local folder and one project). */
export function registerInitCommand(program: Command): void {
  const command = program
    .command('init')
    .description('Write a configuration that works at once: a local-folder destination and one project with a new API key (shown only now).')
    .option('-c, --config <file>', 'configuration file to write', defaultConfigFile)
    .option('--project <id>', 'id of the project (the project_id your messages carry)', 'default')
    .option('--archive <dir>', 'archive folder of the local destination, relative to the config file', 'sentcopy-archive')
    .option('--force', 'replace an existing configuration file (its projects and API keys are lost: asks first, or needs --yes)')
    .option('-y, --yes', 'with --force, replace a file that holds projects or API keys without asking')
    .option('--json', 'print the result as JSON (includes the API key)');
  command
    .addHelpText(
      'after',
      `
The file holds only the SHA-256 of the API key; the key itself is printed once. Recipients are
keyed in object keys with HMAC-SHA-256 under a new random secret, written to the env file beside
the configuration (sentcopy.config.env, mode 0600; an existing secret there is kept) and never
printed: keep it with the configuration, since messages are found by recipient only with it.
Connect a cloud bucket later with \`sentcopy destinations connect\`.

Examples:
  $ sentcopy init
  $ sentcopy init --project checkout --archive /var/lib/sentcopy/archive -c /etc/sentcopy.json
  $ sentcopy init --force --yes        start over (every project and API key in the file is lost)
  $ KEY=$(sentcopy init --json | jq -r .apiKey)`,
    )
    .action(async (options: InitOptions) => init(options));
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Asks before `--force` replaces a file holding projects or keys; without a terminal (or with --json) refuses unless --yes. */
async function confirmReplace(file: string, json: boolean): Promise<void> {
  let projects = 0;
  let keys = 0;
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { projects?: Record<string, { api_keys?: unknown[] }> };
    for (const project of Object.values(parsed.projects ?? {})) {
      projects += 1;
      keys += Array.isArray(project?.api_keys) ? project.api_keys.length : 0;
    }
  } catch {
    // An unreadable or damaged file holds nothing init could keep: replacing it loses nothing usable.
    return;
  }
  if (projects === 0 && keys === 0) return;
  const loss = `${file} holds ${projects} project(s) and ${keys} API key(s); replacing it makes every one of those keys stop working.`;
  if (!canPrompt() || json) {
    throw new CliError(`${loss} It was left unchanged.`, {
      exitCode: exitCodes.usage,
      code: 'confirmation_required',
      hint: 'Add --yes to replace it anyway, or add projects and keys to it with `sentcopy projects add` and `sentcopy keys add` instead.',
    });
  }
  if (!(await askYesNo(`${loss} Replace it?`))) throw new CliError('Nothing was changed.', { exitCode: exitCodes.failure, code: 'cancelled' });
}

async function init(options: InitOptions): Promise<void> {
  const file = path.resolve(options.config);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(options.project)) {
    throw new CliError(`--project "${options.project}" is not a valid project id: use 1 to 128 letters, digits, ".", "-" and "_".`, { exitCode: exitCodes.usage, code: 'usage', hint: 'Pick an id such as checkout or marketing-emails.' });
  }
  if (options.archive.trim() === '') throw new CliError('--archive must name a folder.', { exitCode: exitCodes.usage, code: 'usage' });
  if (options.force !== true && (await exists(file))) {
    throw new CliError(`${file} already exists; it was left unchanged.`, {
      exitCode: exitCodes.failure,
      code: 'config_exists',
      hint: 'Change it with `sentcopy projects …`, `sentcopy keys …` and `sentcopy destinations …`, name another file with --config, or pass --force to replace it (its projects and API keys are lost).',
    });
  }
  if (options.force === true && options.yes !== true) await confirmReplace(file, options.json === true);
  const { config, apiKey, projectId } = defaultConfig({ root: options.archive, projectId: options.project, keyLabel: 'created by sentcopy init' });
  // The secret first, so the configuration never references a variable that is nowhere; an existing one is kept (replacing it would hide the archive's messages from --recipient).
  const envFile = envFileFor(file);
  const recipientKeyCreated = await ensureRecipientKeyInEnvFile(envFile, defaultRecipientKeyVariable);
  await writeConfig(file, config);
  const archive = path.resolve(path.dirname(file), options.archive);
  const configFlag = path.resolve(defaultConfigFile) === file ? '' : ` -c ${options.config}`;

  emit(options, { file, project: projectId, apiKey, destination: 'local', archive, recipientKeyFile: envFile, recipientKeyCreated }, () =>
    [
      `Wrote ${file}: project "${projectId}" archives into ${archive}.`,
      '',
      'Its API key is shown only now (the file stores its SHA-256):',
      '',
      `  export SENTCOPY_KEY=${apiKey}`,
      '',
      `${recipientKeyCreated ? 'A new' : 'The existing'} recipient key (${defaultRecipientKeyVariable}, which keys recipients in object keys) is in ${envFile} (mode 0600).`,
      'Back it up with the configuration: messages are found by recipient only with the key they were stored with.',
      '',
      'Next steps:',
      `  sentcopy worker${configFlag}                      start the worker (http://127.0.0.1:8787)`,
      `  sentcopy destinations connect NAME --type s3 …${configFlag} --project ${projectId}   archive into your own bucket`,
      `  sentcopy destinations show${configFlag}           see where messages go`,
    ].join('\n'),
  );
}
