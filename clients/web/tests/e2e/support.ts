import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

export interface ChatPage {
  context: BrowserContext;
  page: Page;
  user: string;
}

export interface ShownMessage {
  id: string;
  seq: number | undefined;
  status: string;
  path: string;
  text: string;
}

/** A room of the test's own, so tests never see each other's messages. */
export function uniqueRoom(name: string): string {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** A user in a browser context of its own (its own IndexedDB, its own network conditions), joined by URL. */
export async function openChat(browser: Browser, user: string, room: string, query = ''): Promise<ChatPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`[${user}] page error: ${error.message}`));
  await page.goto(`/?user=${user}&room=${room}${query}`);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'online');
  return { context, page, user };
}

/** Alice and Bob in a new room of the test's own; with `overDataChannel`, once both show each other as p2p. */
export async function openPair(browser: Browser, name: string, options: { overDataChannel?: boolean; aliceQuery?: string } = {}) {
  const room = uniqueRoom(name);
  const alice = await openChat(browser, 'alice', room, options.aliceQuery);
  const bob = await openChat(browser, 'bob', room);
  if (options.overDataChannel) {
    await waitForPeerPath(alice.page, 'p2p');
    await waitForPeerPath(bob.page, 'p2p');
  }
  return { room, alice, bob };
}

/** Every message this page sent has reached delivered (or read) for all the others in the room. */
export async function expectOwnDelivered(page: Page): Promise<void> {
  await expect(page.locator('[data-testid="message"].own:not([data-status="delivered"]):not([data-status="read"])')).toHaveCount(0);
}

export async function shownMessages(page: Page): Promise<ShownMessage[]> {
  return page.getByTestId('message').evaluateAll((items) =>
    items.map((item) => {
      const element = item as HTMLElement;
      return {
        id: element.dataset.id ?? '',
        seq: element.dataset.seq === undefined ? undefined : Number(element.dataset.seq),
        status: element.dataset.status ?? '',
        path: element.dataset.path ?? '',
        text: element.querySelector('[data-testid="message-text"]')?.textContent ?? '',
      };
    }),
  );
}

/** Types a message into the composer and presses send, as a user does. */
export async function type(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('send').click();
}

/** Sends through the page's client without the composer: for bursts larger than a person types. */
export async function sendMany(page: Page, texts: string[]): Promise<void> {
  await page.evaluate(async (all) => {
    for (const text of all) await window.chat!.send(text);
  }, texts);
}

export async function waitForPeerPath(page: Page, path: 'p2p' | 'relay', count = 1): Promise<void> {
  await expect(page.locator(`[data-testid="peer"][data-path="${path}"]`)).toHaveCount(count, { timeout: 30_000 });
}

/** Waits until the page shows exactly these texts, all stored (with a seq), and returns what it shows. */
export async function waitForStoredTexts(page: Page, texts: string[], timeout = 60_000): Promise<ShownMessage[]> {
  await expect
    .poll(
      async () => {
        const shown = await shownMessages(page);
        return shown.filter((message) => message.seq !== undefined).length;
      },
      { timeout, message: `${texts.length} stored messages` },
    )
    .toBeGreaterThanOrEqual(texts.length);
  return shownMessages(page);
}

/** Every text once, nothing else, in seq order with no gap. */
export function expectOnceInOrder(shown: ShownMessage[], texts: string[]): void {
  expect(shown.map((message) => message.text).sort()).toEqual([...texts].sort());
  expect(new Set(shown.map((message) => message.id)).size).toBe(shown.length);
  const seqs = shown.map((message) => message.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => (a ?? 0) - (b ?? 0)));
  expect(seqs.every((seq, index) => index === 0 || seq === (seqs[index - 1] ?? 0) + 1)).toBe(true);
}

export function texts(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix} ${String(index + 1).padStart(3, '0')}`);
}

export async function closeAll(...pages: ChatPage[]): Promise<void> {
  for (const chat of pages) await chat.context.close();
}

/** The sum of one metric's series (optionally only those whose labels contain `labels`) over instances' /metrics. */
export async function metricSum(ports: number[], name: string, labels = ''): Promise<number> {
  let sum = 0;
  for (const port of ports) {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const line of body.split('\n')) {
      if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labels)) sum += Number(line.split(' ').at(-1));
    }
  }
  return sum;
}

export const relayPorts = [5201, 5202];
