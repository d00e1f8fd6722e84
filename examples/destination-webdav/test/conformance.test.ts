import { fileURLToPath } from 'node:url';
import { runDestinationConformance } from '@sentcopy/destination-test-suite';
import * as vitest from 'vitest';
import { createWebdavDestination } from '../src/index.js';
import { createWebdavBackdoor, startWebdavFaults, startWebdavServer } from './webdav-fixture.js';

const server = await startWebdavServer();
const settings = { url: server.url, folder: 'archive', username: server.username, password: server.password };
const { proxy, faults } = await startWebdavFaults(server, (url) => createWebdavDestination({ ...settings, url }));
vitest.afterAll(() => Promise.all([proxy.stop(), server.stop()]));
const backdoor = createWebdavBackdoor(server, 'archive/');
const crossProcess = { factoryModule: fileURLToPath(new URL('fixtures/conformance-writer.mjs', import.meta.url)), settings };
runDestinationConformance({ name: 'destination-webdav (webdav-server 2)', runner: vitest, backdoor, faults, secrets: [server.password], createDestination: () => createWebdavDestination(settings), crossProcess });
