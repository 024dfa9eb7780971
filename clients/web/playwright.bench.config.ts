import { defineConfig } from '@playwright/test';
import { chromium } from './playwright.config';

// `./chat bench browser`: measurements in real Chromium against a running stack. Not part of ./chat test.
export default defineConfig({
  testDir: 'bench',
  testMatch: '*.bench.ts',
  outputDir: 'test-results/bench',
  timeout: 600_000,
  workers: 1,
  reporter: [['list']],
  use: { baseURL: process.env.CHAT_URL ?? 'http://127.0.0.1:8080', launchOptions: chromium },
});
