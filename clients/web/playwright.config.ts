import { defineConfig, type PlaywrightTestConfig } from '@playwright/test';

// Runs against a stack that is already up (./chat test starts it with two Relay and two Signaling instances).
// Debian's Chromium, never a downloaded browser: CHROMIUM overrides the path.
/** Debian's Chromium with the flags that let two pages on one machine open a data channel over loopback. */
export const chromium: NonNullable<PlaywrightTestConfig['use']>['launchOptions'] = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // Without these two Chromium gathers no loopback candidate, and two pages on one machine cannot connect.
    '--allow-loopback-in-peer-connection',
    '--use-fake-ui-for-media-stream',
  ],
};

export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  use: {
    baseURL: process.env.CHAT_URL ?? 'http://127.0.0.1:8080',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: chromium,
  },
});
