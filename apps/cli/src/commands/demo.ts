import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createArchiver, identifierText, profiles, sampleMessages, type ArchiveResult, type Channel, type ProfileName } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { defaultRecipientKeyVariable, ensureRecipientKeyInEnvFile, envFileFor, readEnvFile } from '@sentcopy/worker';

interface DemoOptions {
  dir: string;
  count: number;
  profile: ProfileName;
  json: boolean;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    throw new InvalidArgumentError('must be a whole number from 1 to 100000.');
  }
  return count;
}

/** `sentcopy demo`: archives generated messages of every channel into a local folder. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Archive a generated sample of email, SMS, push and WhatsApp messages into a local folder and show what was written.')
    .option('-d, --dir <folder>', 'folder to archive into (created if missing)', '.sentcopy-demo')
    .option('-n, --count <number>', 'how many messages to generate', parseCount, 8)
    .addOption(new Option('-p, --profile <name>', 'stored JSON and key layout: sentcopy, or a vendor-compatible profile').choices(Object.keys(profiles)).default('sentcopy'))
    .option('--json', 'print one JSON document for scripts instead of the human report', false)
    .addHelpText(
      'after',
      `
Examples:
  $ sentcopy demo                          archive 8 sample messages into ./.sentcopy-demo
  $ sentcopy demo --profile braze -n 20    use Braze's key layout and JSON field names
  $ sentcopy demo --json | jq '.objects[0]'

Running it again stores nothing new: every key is write-once, and an identical copy counts as
already stored.`,
    )
    .action(async (options: DemoOptions) => runDemo(options));
}

async function runDemo(options: DemoOptions): Promise<void> {
  const root = path.resolve(options.dir);
  const destination = createFsDestination({ root });
  // The sentcopy layout keys recipients with a secret: SENTCOPY_RECIPIENT_KEY when set, else one kept beside the demo folder, so a second run finds the same keys.
  let recipientKey = process.env[defaultRecipientKeyVariable] === '' ? undefined : process.env[defaultRecipientKeyVariable];
  let recipientKeyFile: string | undefined;
  if (recipientKey === undefined && options.profile === 'sentcopy') {
    recipientKeyFile = envFileFor(root);
    await ensureRecipientKeyInEnvFile(recipientKeyFile, defaultRecipientKeyVariable);
    recipientKey = (await readEnvFile(recipientKeyFile))[defaultRecipientKeyVariable];
  }
  const archiver = createArchiver({ destination, profile: options.profile, ...(recipientKey === undefined ? {} : { recipientKey }) });
  const messages = sampleMessages({ projectId: 'demo', count: options.count });
  const objects: (ArchiveResult & { channel: Channel; messageId: string })[] = [];
  const started = performance.now();
  for (const message of messages) {
    const result = await archiver.archive(message);
    objects.push({ ...result, channel: message.channel, messageId: identifierText(message.message_id) });
  }
  const elapsedMs = performance.now() - started;
  await destination.close?.();

  const created = objects.filter((object) => object.created).length;
  if (options.json) {
    console.log(
      JSON.stringify(
        { root, profile: archiver.profile.name, codec: archiver.codec.name, layout: archiver.layout.template, ...(recipientKeyFile === undefined ? {} : { recipientKeyFile }), created, alreadyStored: objects.length - created, objects },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`Archived ${objects.length} messages into ${root}`);
  console.log(`profile ${archiver.profile.name} · codec ${archiver.codec.name} · layout ${archiver.layout.template}`);
  if (recipientKeyFile !== undefined) console.log(`recipient key (keyed hash in the keys): ${recipientKeyFile}, mode 0600`);
  console.log('');
  const width = Math.max(...objects.map((object) => object.key.length));
  for (const object of objects) {
    const status = object.created ? 'stored        ' : 'already stored';
    console.log(`  ${object.channel.padEnd(8)} ${status} ${object.key.padEnd(width)}  ${String(object.size).padStart(6)} B  sha256 ${object.sha256.slice(0, 12)}…`);
  }
  console.log(`\n${created} new, ${objects.length - created} already stored, in ${elapsedMs.toFixed(0)} ms.`);
  const first = objects[0];
  if (first !== undefined) {
    const file = path.join(root, ...first.key.split('/'));
    const open = archiver.codec.name === 'gzip' ? 'gzip -dc' : archiver.codec.name === 'lz4' ? 'lz4 -dc' : 'cat';
    console.log(`\nLook at one:  ${open} '${file}'`);
    console.log(`Verify one:   sha256sum '${file}'   (matches the sha256 recorded with the object)`);
  }
}
