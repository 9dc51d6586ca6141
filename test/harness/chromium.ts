import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createTempDir, type TempDir } from './tmp.js';

/** Debian's chromium (installed by .ci/install.sh); playwright-core never downloads a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface OpenedReport {
  page: Page;
  /** Every URL the page requested, the document itself included. */
  requests: string[];
  /** console.error messages, uncaught page errors and CSP violations. */
  errors: string[];
  /** Messages of alert/confirm/prompt dialogs (each is dismissed). */
  dialogs: string[];
}

export interface ChromiumSession {
  open(file: string): Promise<OpenedReport>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile in a temp dir, removed on close. */
export async function startChromium(viewport = { width: 1400, height: 900 }): Promise<ChromiumSession> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (see .ci/install.sh)`);
  }
  const profile: TempDir = await createTempDir('mass-ingest-chromium-');
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile.path, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, viewport });
  } catch (err) {
    await profile.remove();
    throw err;
  }
  return {
    open: (file) => openReport(context, file),
    close: async () => {
      await context.close();
      await profile.remove();
    },
  };
}

/** Opens an HTML report from disk and waits until its script marked it ready. */
async function openReport(context: BrowserContext, file: string): Promise<OpenedReport> {
  const page = await context.newPage();
  const opened: OpenedReport = { page, requests: [], errors: [], dialogs: [] };
  page.on('request', (request) => opened.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') opened.errors.push(message.text());
  });
  page.on('pageerror', (err) => opened.errors.push(err.message));
  page.on('dialog', (dialog) => {
    opened.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 60_000 });
  await page.waitForFunction("document.documentElement.dataset.ready === 'true'", null, { timeout: 60_000 });
  return opened;
}
