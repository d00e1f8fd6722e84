import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

// Debian's chromium package (installed by scripts/ensure-tools.mjs): Playwright's own browser download cannot reach its host here.
const executablePath = process.env.SENTCOPY_CHROMIUM ?? '/usr/bin/chromium';

/**
 * A headless Chromium; root needs --no-sandbox. Close it in afterAll. Sandboxed iframes stay in
 * their page's process: Chromium otherwise moves them to one of their own, where Playwright's
 * request events do not see them, so {@link recordRequests} would miss what an email frame loads.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-features=IsolateSandboxedIframes'] });
}

/** Where a test keeps its screenshots (kept as artifacts, ignored by git): apps/cli/test-artifacts/screenshots/NAME.png. */
export function screenshotPath(name: string): string {
  const folder = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts', 'screenshots');
  mkdirSync(folder, { recursive: true });
  return path.join(folder, `${name}.png`);
}

/** Every request the page makes, by URL, from the moment this is called: a test asserts on what left the page. */
export function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  return urls;
}
