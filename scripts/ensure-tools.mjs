// Makes sure the system tools the test suite shells out to are present, installing them from
// Debian packages when we can (root with apt-get), so the README's test command works on a fresh machine.
import { spawnSync } from 'node:child_process';

const tools = [
  { command: 'lz4', debianPackage: 'lz4', why: 'checks that LZ4 archives open with the standard lz4 tool' },
  { command: 'openssl', debianPackage: 'openssl', why: 'makes the self-signed certificate Azurite serves HTTPS with, for the token-credential tests' },
  { command: 'nats-server', debianPackage: 'nats-server', why: 'runs the JetStream queue tests against a real NATS server' },
  { command: 'script', debianPackage: 'bsdutils', why: "answers the CLI's interactive prompts from a real terminal" },
  { command: 'chromium', debianPackage: 'chromium', why: "drives the archive viewer's pages in a headless browser (with playwright-core)" },
];

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const missing = tools.filter((tool) => !has(tool.command));
if (missing.length === 0) process.exit(0);

const packages = missing.map((tool) => tool.debianPackage);
const canInstall = process.getuid?.() === 0 && has('apt-get');
if (canInstall) {
  console.log(`Installing ${packages.join(', ')} (needed by the tests) with apt-get...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let result = spawnSync('apt-get', ['install', '-y', '-q', ...packages], { stdio: 'inherit', env });
  if (result.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    result = spawnSync('apt-get', ['install', '-y', '-q', ...packages], { stdio: 'inherit', env });
  }
  if (result.status === 0 && missing.every((tool) => has(tool.command))) process.exit(0);
}
for (const tool of missing) console.error(`Missing "${tool.command}": the test suite ${tool.why}.`);
console.error(`Install it and run the tests again, e.g.: sudo apt-get install -y ${packages.join(' ')}`);
process.exit(1);
