import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DestinationError, type DestinationContext } from '@sentcopy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destinationDescriptor, webdavDestinationType, type WebdavDestinationConfig } from '../src/index.js';
import { createWebdavBackdoor, startWebdavServer, type WebdavTestServer } from './webdav-fixture.js';

const packageName = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string }).name;
const body = new TextEncoder().encode('{"message_id":"m-1","channel":"sms"}');
const sha256 = createHash('sha256').update(body).digest('hex');

/** The context the worker hands a descriptor: secrets come from the environment variable the configuration names. */
function contextFor(config: WebdavDestinationConfig): DestinationContext {
  return {
    baseDir: process.cwd(),
    readSecret(setting) {
      const reference = (config as unknown as Record<string, { env: string } | undefined>)[setting];
      if (reference === undefined) return undefined;
      const value = process.env[reference.env];
      if (value === undefined) throw new Error(`The setting ${setting} names the environment variable ${reference.env}, which is not set.`);
      return value;
    },
  };
}

let server: WebdavTestServer;
const variable = `SENTCOPY_WEBDAV_PASSWORD_${randomUUID().replaceAll('-', '_')}`;
beforeAll(async () => {
  server = await startWebdavServer();
  process.env[variable] = server.password;
});
afterAll(async () => {
  delete process.env[variable];
  await server.stop();
});

describe('destinationDescriptor', () => {
  it('is named by the package name and describes every setting once, the password as a secret with its own option', () => {
    expect(destinationDescriptor.specificationVersion).toBe('v1');
    expect(destinationDescriptor.type).toBe(packageName);
    expect(destinationDescriptor.packageName).toBe(packageName);
    expect(webdavDestinationType).toBe(packageName);
    const { properties, required } = destinationDescriptor.settingsSchema;
    expect(Object.keys(properties).sort()).toEqual(['call_timeout_ms', 'folder', 'password', 'url', 'username']);
    expect(required).toEqual(['url']);
    expect(
      Object.entries(properties)
        .filter(([, schema]) => schema['x-secret'] === true)
        .map(([name]) => name),
    ).toEqual(['password']);
    expect(destinationDescriptor.options.map((option) => option.setting).sort()).toEqual(Object.keys(properties).sort());
    expect(destinationDescriptor.options.find((option) => option.setting === 'password')?.flag).toBe('password-env');
    for (const option of destinationDescriptor.options) expect(option.description.length, option.flag).toBeGreaterThan(10);
  });

  it('creates a working destination from settings and context: the password comes from readSecret, the object lands on the server', async () => {
    const config: WebdavDestinationConfig = { url: server.url, folder: 'from-descriptor', username: server.username, password: { env: variable } };
    const destination = await destinationDescriptor.create(config, contextFor(config));
    expect(destination.id).toBe(`${server.url}from-descriptor/`);
    expect(destination.id).not.toContain(server.password);
    const result = await destination.put({ key: 'sms/m-1.json', body, sha256, contentType: 'application/json', metadata: { 'message-id': 'm-1' } });
    expect(result).toEqual({ key: 'sms/m-1.json', size: body.byteLength, sha256, created: true });
    const landed = await createWebdavBackdoor(server, 'from-descriptor/').readObject('sms/m-1.json');
    expect(landed && Buffer.from(landed.body).equals(Buffer.from(body))).toBe(true);
    expect(landed?.sha256).toBe(sha256);
    expect(landed?.metadata).toEqual({ 'message-id': 'm-1' });
    const probe = await destination.probe();
    expect(probe.ok, JSON.stringify(probe.checks)).toBe(true);
    expect(probe.public).toBe(false);
  });

  it('a wrong password from the environment is refused as unauthorized, naming neither password', async () => {
    const wrong = `wrong-${randomUUID()}`;
    process.env[`${variable}_WRONG`] = wrong;
    try {
      const config: WebdavDestinationConfig = { url: server.url, username: server.username, password: { env: `${variable}_WRONG` } };
      const destination = await destinationDescriptor.create(config, contextFor(config));
      const error = await destination.put({ key: 'refused.json', body, sha256, contentType: 'application/json' }).catch((caught: unknown) => caught);
      expect(DestinationError.isInstance(error) && error.kind).toBe('unauthorized');
      expect(String((error as Error).message)).not.toContain(wrong);
      expect(String((error as Error).message)).not.toContain(server.password);
      expect(await createWebdavBackdoor(server).readObject('refused.json')).toBe(undefined);
    } finally {
      delete process.env[`${variable}_WRONG`];
    }
  });

  it('refuses a url that is not http(s) or carries credentials with invalid, naming the url setting', async () => {
    for (const url of ['ftp://127.0.0.1/dav/', 'not a url', `http://archiver:${server.password}@127.0.0.1/dav/`]) {
      const config = { url } as WebdavDestinationConfig;
      const error = await Promise.resolve()
        .then(() => destinationDescriptor.create(config, contextFor(config)))
        .catch((caught: unknown) => caught);
      expect(DestinationError.isInstance(error) && error.kind, url).toBe('invalid');
      expect((error as Error).message).toMatch(/^Invalid url: /);
      expect((error as Error).message).not.toContain(server.password);
    }
  });
});
