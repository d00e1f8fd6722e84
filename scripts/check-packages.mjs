#!/usr/bin/env node
// Release check: packs every published package as the registry would receive it (`pnpm pack`, which
// rewrites `workspace:` ranges to versions), lints each tarball with publint and arethetypeswrong,
// installs the tarballs into an empty project outside the workspace (third-party dependencies come
// from the npm registry), type-checks the first TypeScript example of each package's README there
// against the installed types, runs the ones that need no cloud account, and runs the installed
// `sentcopy --version` and `sentcopy --help`.
//
// Usage: node scripts/check-packages.mjs [--keep]   (build first: `pnpm build`; --keep leaves the temp project)
// Exit code 0 when every check passed; 1 otherwise, after a summary naming each failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const failures = [];
const fail = (where, problem) => {
  failures.push(`${where}: ${problem}`);
  console.log(`  ✗ ${where}: ${problem}`);
};
const stage = (title) => console.log(`\n▸ ${title}`);
const rootManifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const pnpm = ['--yes', rootManifest.packageManager];
// The versions the workspace itself tests with (from its lockfile), so the check installs the same ones.
const installedVersion = (name, folder = '.') => JSON.parse(readFileSync(path.join(root, folder, 'node_modules', name, 'package.json'), 'utf8')).version;

/**
 * How each package's README example is checked in the installed project. The example is the first
 * ```ts block of the README, taken verbatim. `prelude` declares what the snippet leaves to the
 * reader (a `message`, an SMTP `from`…); `replace` points fixed places (a port, `/var/archive`)
 * at the check's own, and fails loudly when the README no longer contains the text, so the README
 * and this table cannot drift apart silently. `run` executes the compiled example after the
 * type-check; examples that need a cloud account or a mail server are type-checked only.
 */
const examples = {
  '@sentcopy/core': {
    prelude: `import { sampleMessages } from '@sentcopy/core';\nprocess.env.SENTCOPY_RECIPIENT_KEY ??= 'check-packages-recipient-key-32b';\nconst message = sampleMessages({ projectId: 'shop', count: 1 })[0]!;\n`,
    replace: [["'/var/archive'", 'process.env.CHECK_ARCHIVE!']],
    epilogue: `if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(sha256) || created !== true) throw new Error('archive() answered ' + JSON.stringify({ key, sha256, created }));\nconsole.log('archived', key);\n`,
    run: true,
  },
  '@sentcopy/destination-fs': {
    prelude: '',
    replace: [["'/var/lib/sentcopy/archive'", 'process.env.CHECK_ARCHIVE!']],
    epilogue: `const probe = await destination.probe();\nif (!probe.ok) throw new Error('probe failed: ' + JSON.stringify(probe));\nconsole.log('probe ok');\n`,
    run: true,
  },
  '@sentcopy/client': {
    // A worker from the installed @sentcopy/worker, with the project and key the example uses.
    prelude: [
      "import { writeFileSync } from 'node:fs';",
      "import { sampleMessages } from '@sentcopy/core';",
      "import { hashApiKey, runWorker } from '@sentcopy/worker';",
      "process.env.SENTCOPY_RECIPIENT_KEY ??= 'check-packages-recipient-key-32b';",
      "process.env.SENTCOPY_KEY = 'check-packages-client-key';",
      "writeFileSync('client.config.json', JSON.stringify({ version: 1, recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' }, destinations: { local: { type: 'fs', root: process.env.CHECK_ARCHIVE!, acknowledge_personal_data: true } }, projects: { shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(process.env.SENTCOPY_KEY) }] } } }));",
      "const checkWorker = await runWorker({ configFile: 'client.config.json', port: 0 });",
      "const message = JSON.stringify(sampleMessages({ projectId: 'shop', count: 1 })[0]);",
      "function keepForLater(message: unknown, reason: string): void { throw new Error('not delivered: ' + reason); }",
      '',
    ].join('\n'),
    replace: [["url: 'http://127.0.0.1:8787'", 'url: checkWorker.url']],
    epilogue: `if (result.status !== 'accepted' || typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(sha256) || report.undelivered.length !== 0) throw new Error('unexpected ' + JSON.stringify({ result, key, sha256, report }));\nawait checkWorker.stop();\nconsole.log('sent, then archived', key);\n`,
    run: true,
  },
  '@sentcopy/destination-s3': { prelude: '', replace: [], run: false },
  '@sentcopy/destination-azure': { prelude: '', replace: [], run: false },
  '@sentcopy/destination-gcs': { prelude: '', replace: [], run: false },
  '@sentcopy/nodemailer': {
    prelude: `import { createArchiver, type DestinationV1 } from '@sentcopy/core';\ndeclare const apiKey: string, destination: DestinationV1, from: string, to: string, subject: string, html: string, attachments: [];\n`,
    replace: [],
    run: false,
  },
  '@sentcopy/destination-test-suite': { skip: "its README example is this repository's own S3 conformance test (it imports the unpublished @sentcopy/test-servers and local files)" },
  '@sentcopy/worker': {
    prelude: `import { writeFileSync } from 'node:fs';\nimport { hashApiKey } from '@sentcopy/worker';\nprocess.env.SENTCOPY_RECIPIENT_KEY ??= 'check-packages-recipient-key-32b';\nwriteFileSync(process.env.CHECK_CLUSTER_CONFIG!, JSON.stringify({ version: 1, recipient_hash_key: { env: 'SENTCOPY_RECIPIENT_KEY' }, destinations: { local: { type: 'fs', root: process.env.CHECK_ARCHIVE!, acknowledge_personal_data: true } }, projects: { shop: { destination: 'local', channels: ['email', 'sms'], api_keys: [{ sha256: hashApiKey('check-packages-key') }] } } }));\n`,
    replace: [
      ["configFile: './sentcopy.config.json', createConfig: true, port: 8787", "configFile: './sentcopy.config.json', createConfig: true, port: 0"],
      ["configFile: '/etc/sentcopy/cluster.json', port: 8787, nats: { url: 'nats://10.0.0.5:4222' }", 'configFile: process.env.CHECK_CLUSTER_CONFIG!, port: 0, nats: { url: process.env.CHECK_NATS_URL! }'],
    ],
    epilogue: `if (!/^http:\\/\\/127\\.0\\.0\\.1:\\d+$/.test(clustered.url) || clustered.configSource !== 'jetstream') throw new Error('unexpected cluster worker ' + clustered.url + ' ' + clustered.configSource);\nconsole.log('cluster worker at', clustered.url);\nawait clustered.stop();\n`,
    run: true,
    needs: 'nats-server',
  },
  '@sentcopy/ledger-index': {
    // A ledger written first with the installed core, so the example's update() has segments to index.
    prelude: [
      "import { createArchiver as checkArchiver, createHmacRecipientHash as checkHash, createLedgerWriter as checkLedger, sampleMessages as checkSamples } from '@sentcopy/core';",
      "import { createFsDestination as checkFs } from '@sentcopy/destination-fs';",
      "process.env.SENTCOPY_RECIPIENT_KEY ??= 'check-packages-recipient-key-32b';",
      'const checkDestination = checkFs({ root: process.env.CHECK_ARCHIVE! });',
      'const checkWriter = checkLedger({ destination: checkDestination, recipientHash: checkHash(process.env.SENTCOPY_RECIPIENT_KEY) });',
      'const checkArchive = checkArchiver({ destination: checkDestination, ledger: checkWriter, recipientKey: process.env.SENTCOPY_RECIPIENT_KEY });',
      "for (const sample of checkSamples({ projectId: 'shop', count: 5 })) await checkArchive.archive(sample);",
      'await checkArchive.close();',
      'await checkWriter.close();',
      '',
    ].join('\n'),
    replace: [["createFsDestination({ root: '/var/archive' })", 'createFsDestination({ root: process.env.CHECK_ARCHIVE! })']],
    epilogue: `if (result.added !== 5 || result.problems.length !== 0 || !Array.isArray(page.objects)) throw new Error('update() answered ' + JSON.stringify(result));\nconsole.log('indexed', result.added, 'entries from', result.segments, 'segment(s)');\n`,
    run: true,
  },
  '@sentcopy/cli': { skip: 'a command, not a library: checked below with `sentcopy --version` and `sentcopy --help`' },
};

function workspacePackages() {
  const folders = ['packages', 'apps'].flatMap((parent) => readdirSync(path.join(root, parent)).map((name) => path.join(root, parent, name)));
  return folders
    .filter((folder) => existsSync(path.join(folder, 'package.json')))
    .map((folder) => ({ folder, manifest: JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true);
}

function firstTypeScriptBlock(readme) {
  const match = /^```(?:ts|typescript)\n([\s\S]*?)^```$/m.exec(readme);
  return match?.[1];
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(), status: result.status };
}

const indent = (text) =>
  text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-packages-'));
const tarballs = path.join(work, 'tarballs');
const project = path.join(work, 'project');
mkdirSync(tarballs);
mkdirSync(project);
let natsServer;

try {
  const published = workspacePackages();
  stage(`pack ${published.length} published packages (${published.map(({ manifest }) => manifest.name).join(', ')})`);
  const packed = [];
  for (const { folder, manifest } of published) {
    if (!existsSync(path.join(folder, 'dist'))) {
      fail(manifest.name, `${path.relative(root, folder)}/dist is missing: run \`pnpm build\` first`);
      continue;
    }
    const result = run('npx', [...pnpm, 'pack', '--pack-destination', tarballs], { cwd: folder });
    const tarball = result.output
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.endsWith('.tgz'));
    if (!result.ok || tarball === undefined) {
      fail(manifest.name, `pnpm pack failed:\n${indent(result.output)}`);
      continue;
    }
    const file = path.isAbsolute(tarball) ? tarball : path.join(tarballs, path.basename(tarball));
    const packedManifest = JSON.parse(execFileSync('tar', ['-xOzf', file, 'package/package.json'], { encoding: 'utf8' }));
    const contents = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    const unresolved = ['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((field) =>
      Object.entries(packedManifest[field] ?? {})
        .filter(([, range]) => String(range).startsWith('workspace:'))
        .map(([name, range]) => `${field}.${name} ${range}`),
    );
    if (unresolved.length > 0) fail(manifest.name, `the tarball still has workspace ranges: ${unresolved.join(', ')}`);
    if (!contents.includes('package/README.md')) fail(manifest.name, 'the tarball has no README.md');
    if (contents.some((entry) => /\/(test|src)\//.test(entry) || entry.endsWith('.test.js'))) fail(manifest.name, 'the tarball carries sources or tests');
    console.log(`  ✓ ${manifest.name}@${packedManifest.version}: ${path.basename(file)} (${contents.length} files)`);
    packed.push({ folder, manifest, file });
  }

  stage('publint (errors and warnings fail; suggestions are printed)');
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  for (const { manifest, file } of packed) {
    const bytes = readFileSync(file);
    const { messages, pkg } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'suggestion', strict: true });
    const blocking = messages.filter((message) => message.type !== 'suggestion');
    for (const message of messages) console.log(`  ${message.type === 'suggestion' ? '·' : '✗'} ${manifest.name}: ${message.type}: ${formatMessage(message, pkg)}`);
    if (blocking.length > 0) failures.push(`${manifest.name}: publint found ${blocking.length} problem(s)`);
    else console.log(`  ✓ ${manifest.name}`);
  }

  // ESM-only on purpose: every package is "type": "module" with an `import` + `types` export and
  // needs Node 20.19+, so attw's CommonJS resolutions (node10, node16 from CJS) do not apply.
  stage('arethetypeswrong (--profile esm-only)');
  const attw = path.join(root, 'node_modules', '.bin', 'attw');
  for (const { manifest, file } of packed) {
    if (manifest.exports?.['.'] === undefined) {
      console.log(`  · ${manifest.name}: no "." export (a command line only); nothing to resolve`);
      continue;
    }
    const result = run(attw, [file, '--profile', 'esm-only', '--format', 'ascii', '--no-color']);
    if (result.ok) console.log(`  ✓ ${manifest.name}`);
    else fail(manifest.name, `arethetypeswrong:\n${indent(result.output)}`);
  }

  stage(`install the tarballs into an empty project outside the workspace (${project})`);
  const toolVersions = {
    typescript: installedVersion('typescript'),
    '@types/node': installedVersion('@types/node'),
    vitest: installedVersion('vitest'),
    nodemailer: installedVersion('nodemailer', 'packages/nodemailer'),
    '@types/nodemailer': '8.0.2',
  };
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'sentcopy-package-check', private: true, type: 'module' }, null, 2)}\n`);
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packed.map(({ file }) => file), ...Object.entries(toolVersions).map(([name, version]) => `${name}@${version}`)], { cwd: project });
  if (!install.ok) {
    fail('npm install', `failed:\n${indent(install.output)}`);
    throw new Error('stop');
  }
  console.log(
    `  ✓ installed (${Object.entries(toolVersions)
      .map(([name, version]) => `${name}@${version}`)
      .join(', ')} beside them)`,
  );

  stage("type-check each README's first TypeScript example against the installed types");
  const exampleFolder = path.join(project, 'examples');
  mkdirSync(exampleFolder);
  const toCheck = [];
  for (const { folder, manifest } of packed) {
    const plan = examples[manifest.name];
    if (plan === undefined) {
      fail(manifest.name, 'has no entry in the examples table of scripts/check-packages.mjs: add one');
      continue;
    }
    if (plan.skip !== undefined) {
      console.log(`  · ${manifest.name}: skipped, ${plan.skip}`);
      continue;
    }
    const readmeFile = path.join(folder, 'README.md');
    let code = existsSync(readmeFile) ? firstTypeScriptBlock(readFileSync(readmeFile, 'utf8')) : undefined;
    if (code === undefined) {
      fail(manifest.name, `${path.relative(root, readmeFile)} has no \`\`\`ts example`);
      continue;
    }
    let drifted = false;
    for (const [from, to] of plan.replace) {
      if (!code.includes(from)) {
        fail(manifest.name, `the README example no longer contains ${JSON.stringify(from)}: update the examples table in scripts/check-packages.mjs`);
        drifted = true;
      }
      code = code.replaceAll(from, to);
    }
    if (drifted) continue;
    const name = manifest.name.replace('@sentcopy/', '');
    writeFileSync(path.join(exampleFolder, `${name}.ts`), `// From ${path.relative(root, readmeFile)}\n${plan.prelude}${code}${plan.epilogue ?? ''}export {};\n`);
    toCheck.push({ manifest, name, plan });
  }
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    `${JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out', rootDir: 'examples' }, include: ['examples/*.ts'] }, null, 2)}\n`,
  );
  const tsc = run(process.execPath, [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project });
  if (tsc.ok) console.log(`  ✓ ${toCheck.map(({ manifest }) => manifest.name).join(', ')}`);
  else fail('README examples', `tsc found errors:\n${indent(tsc.output)}`);

  stage('run the README examples that need no cloud account');
  for (const { manifest, name, plan } of toCheck) {
    if (!plan.run) {
      console.log(`  · ${manifest.name}: type-checked only (it needs a cloud account or a mail server)`);
      continue;
    }
    const env = { ...process.env, CHECK_ARCHIVE: mkdtempSync(path.join(work, `${name}-archive-`)), CHECK_CLUSTER_CONFIG: path.join(work, `${name}-cluster.json`) };
    if (plan.needs === 'nats-server') {
      if (run('sh', ['-c', 'command -v nats-server']).ok === false) {
        fail(manifest.name, 'needs nats-server on PATH to run its README example (apt-get install nats-server)');
        continue;
      }
      natsServer ??= await startNatsServer(path.join(work, 'nats'));
      env.CHECK_NATS_URL = natsServer.url;
    }
    const cwd = mkdtempSync(path.join(work, `${name}-run-`));
    const result = await runWithDeadline(process.execPath, [path.join(project, 'out', `${name}.js`)], { cwd, env }, 120_000);
    if (result.ok) console.log(`  ✓ ${manifest.name}: ${result.output.split('\n').at(-1)}`);
    else fail(manifest.name, `its README example failed (exit ${result.status}):\n${indent(result.output)}`);
  }

  stage('the installed sentcopy command');
  const sentcopy = path.join(project, 'node_modules', '.bin', 'sentcopy');
  const cliManifest = packed.find(({ manifest }) => manifest.name === '@sentcopy/cli')?.manifest;
  const version = run(sentcopy, ['--version'], { cwd: project });
  if (version.ok && version.output === cliManifest?.version) console.log(`  ✓ sentcopy --version: ${version.output}`);
  else fail('@sentcopy/cli', `sentcopy --version answered ${JSON.stringify(version.output)} (exit ${version.status}), expected ${cliManifest?.version}`);
  const help = run(sentcopy, ['--help'], { cwd: project });
  const missing = ['worker', 'destinations', 'ingest', 'verify', '--version'].filter((word) => !help.output.includes(word));
  if (help.ok && missing.length === 0) console.log(`  ✓ sentcopy --help (${help.output.split('\n').length} lines)`);
  else fail('@sentcopy/cli', `sentcopy --help (exit ${help.status}) lacks ${missing.join(', ')}:\n${indent(help.output)}`);
} catch (error) {
  if (error.message !== 'stop') fail('check-packages', error.stack ?? String(error));
} finally {
  natsServer?.stop();
  if (keep) console.log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.log(`\n✗ check-packages: ${failures.length} problem(s):\n${failures.map((failure) => `  - ${failure.split('\n')[0]}`).join('\n')}`);
  process.exit(1);
}
console.log('\n✓ check-packages: every published package packs, lints, installs and runs its README example');

function runWithDeadline(command, args, options, deadlineMs) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n(killed after ${deadlineMs / 1000} s)`;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ ok: status === 0, status, output: output.trim() });
    });
  });
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startNatsServer(folder) {
  mkdirSync(folder, { recursive: true });
  const port = await freePort();
  const child = spawn('nats-server', ['-js', '-sd', folder, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return { url: `nats://127.0.0.1:${port}`, stop: () => child.kill() };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error(`nats-server did not listen on ${port} within 10 s`);
}
