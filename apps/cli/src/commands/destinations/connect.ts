import { firstPartyDestinationTypes, type AnyDestinationDescriptor } from '@sentcopy/worker';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { addClusterOptions, askYesNo, canPrompt, CliError, clusterOf, defaultConfigFile, emit, exitCodes, readConfig, describeSaveReport, saveReportExitCode } from '../../cli-kit/index.js';
import { addFieldOptions, addProjectOptions, applyFieldOptions, applyProjectOptions, checkRequiredOptions, descriptorOf, type CommandLineDescriptors, type DestinationOptionSet, type ParsedOptions } from './destination-options.js';
import { describeSettings } from './describe-destination.js';
import { checkConfig, probeAndSave } from './save-destination.js';

interface ConnectOptions extends ParsedOptions {
  readonly config: string;
  readonly nats?: string;
  readonly natsName?: string;
  readonly type: string;
  readonly acknowledgePii?: boolean;
  readonly skipProbe?: boolean;
  readonly json?: boolean;
}

const namePattern = /^[A-Za-z0-9_-]{1,64}$/;

const firstPartyExamples = `Examples:
  $ sentcopy destinations connect archive --type fs --root /var/lib/sentcopy --project default
  $ sentcopy destinations connect prod --type s3 --bucket acme-message-archive --region eu-west-1 \\
      --role-arn arn:aws:iam::123456789012:role/sentcopy --external-id-env SENTCOPY_EXTERNAL_ID \\
      --object-lock-mode COMPLIANCE --object-lock-days 2555 --project checkout --channels email,sms
  $ sentcopy destinations connect minio --type s3 --bucket archive --endpoint http://127.0.0.1:9000 \\
      --force-path-style --access-key-id-env MINIO_KEY --secret-access-key-env MINIO_SECRET --acknowledge-pii
  $ sentcopy destinations connect azure --type azure --account-url https://acme.blob.core.windows.net \\
      --container archive --account-key-env AZURE_STORAGE_KEY --retention-days 365
  $ sentcopy destinations connect gcs --type gcs --bucket acme-archive --key-file sa.json \\
      --kms-key projects/p/locations/eu/keyRings/r/cryptoKeys/k`;

/** The examples `--help` ends with: sentcopy's own types, or for another package its own options. */
function examples(chosen: AnyDestinationDescriptor | undefined): string {
  if (chosen === undefined || (firstPartyDestinationTypes as readonly string[]).includes(chosen.type)) return firstPartyExamples;
  const options = chosen.options.map((option) => `--${option.flag}${option.value === undefined ? '' : ` <${option.value}>`}`).join(' ');
  return `Example:
  $ sentcopy destinations connect NAME --type ${chosen.type} ${options} --project default`;
}

/** `sentcopy destinations connect NAME --type …`: adds a destination after probing it. */
export function registerConnectCommand(destinations: Command, found: CommandLineDescriptors): void {
  const chosen = found.connectType?.resolution.ok === true ? found.connectType.resolution.descriptor : undefined;
  // The first pass already looked the type up; a type it could not use is refused as commander reads it.
  const checkType = (value: string): string => {
    const resolution = found.connectType?.type === value ? found.connectType.resolution : undefined;
    if (resolution !== undefined && !resolution.ok) throw new InvalidArgumentError(`${resolution.problem}.`);
    return value;
  };
  const command = destinations
    .command('connect')
    .description('Add a destination: check it with a probe (reachable, writable, write-once, not public) and save it; running workers pick it up live.')
    .argument('<name>', 'name of the new destination (letters, digits, - and _)')
    .addOption(new Option('--type <type>', 'kind of store: fs, s3, azure, gcs, or the package name of a destination installed next to the configuration file (then --help lists its options)').argParser(checkType).makeOptionMandatory())
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .option('--acknowledge-pii', 'confirm that archived messages hold personal data (required when no terminal can ask)')
    .option('--skip-probe', 'save without probing (risky: a wrong or public bucket is only found by the worker, whose messages then wait in the queue)')
    .option('--json', 'print the result as JSON');
  addProjectOptions(command);
  const set = addFieldOptions(command, chosen === undefined ? found.known : [chosen]);
  addClusterOptions(command);
  if (chosen !== undefined) command.addHelpText('before', `Options for --type ${chosen.type}: ${chosen.title} (package ${chosen.packageName}).\n`);
  command
    .addHelpText(
      'after',
      `
Secrets never go on the command line: options ending in -env take the NAME of an environment
variable, and the config stores { "env": "VAR" }. Export it for this command (the probe uses it)
and for every worker.

Before saving, the destination is probed: a bucket that is publicly readable, that refuses the
credentials, or that overwrites existing objects is refused (exit 1), one that does not answer is
refused with exit 5. Archived messages hold personal data, so connecting asks you to acknowledge
that (or pass --acknowledge-pii in scripts).

${examples(chosen)}`,
    )
    .action(async (name: string, options: ConnectOptions) => connect(name, options, set));
}

async function connect(name: string, options: ConnectOptions, set: DestinationOptionSet): Promise<void> {
  if (!namePattern.test(name)) {
    throw new CliError(`"${name}" cannot name a destination: use 1 to 64 letters, digits, - and _.`, { exitCode: exitCodes.usage, code: 'usage', hint: 'Pick a name such as prod-s3.' });
  }
  const loaded = await readConfig(options.config, clusterOf(options));
  if (Object.hasOwn(loaded.config.destinations, name)) {
    throw new CliError(`A destination named "${name}" already exists in ${loaded.file}.`, {
      exitCode: exitCodes.usage,
      code: 'destination_exists',
      hint: `Change it with \`sentcopy destinations edit ${name}\`, or pick another name.`,
    });
  }
  const descriptor = await descriptorOf({ type: options.type, acknowledge_personal_data: true }, loaded.baseDir, '--type');
  const entry = applyFieldOptions(descriptor, set, { type: options.type }, options, loaded.baseDir);
  checkRequiredOptions(descriptor, entry);
  const withDestination = { ...loaded.config, destinations: { ...loaded.config.destinations, [name]: entry } };
  const { config, projects } = applyProjectOptions(withDestination, name, options);

  await checkConfig(loaded, config, name, descriptor);
  await acknowledgePersonalData(name, options);
  const { probe, saved } = await probeAndSave(loaded, config, name, entry, descriptor, options.skipProbe === true);

  emit(options, { file: loaded.file, destination: name, type: entry.type, settings: entry, projects, probe, ...saved }, () => {
    const lines = [`Connected destination "${name}" (${entry.type}) in ${loaded.file}.`, ...describeSettings(entry).map((line) => `  ${line}`)];
    lines.push(probe.skipped === true ? 'Probe skipped: the worker probes it before use and keeps its messages queued until it passes.' : `Probe passed (${probe.checks.map((check) => `${check.name} ${check.status}`).join(', ')}).`);
    if (projects.length > 0) lines.push(`Project(s) ${projects.join(', ')} now archive here; a running worker applies this within seconds.`);
    else lines.push('', 'No project uses it yet. Point one at it:', '', `  sentcopy destinations edit ${name} --project <project-id>`);
    lines.push(...describeSaveReport(saved));
    return lines.join('\n');
  });
  process.exitCode = saveReportExitCode(saved);
}

async function acknowledgePersonalData(name: string, options: ConnectOptions): Promise<void> {
  if (options.acknowledgePii === true) return;
  if (!canPrompt()) {
    throw new CliError('Connecting a destination needs the personal-data acknowledgement, and there is no terminal to ask.', {
      exitCode: exitCodes.usage,
      code: 'acknowledgement_required',
      hint: 'Pass --acknowledge-pii to confirm that the archived messages (addresses, phone numbers, content) hold personal data you are responsible for.',
    });
  }
  const accepted = await askYesNo(`Messages archived in "${name}" hold personal data (email addresses, phone numbers, message content). You are responsible for who can read them and how long they are kept. Continue?`);
  if (!accepted) {
    throw new CliError(`Destination "${name}" was not connected: the personal-data acknowledgement was declined.`, { exitCode: exitCodes.failure, code: 'acknowledgement_declined' });
  }
}
