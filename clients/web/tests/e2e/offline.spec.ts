import { expect, test } from '@playwright/test';
import { closeAll, expectOnceInOrder, expectOwnDelivered, openPair, sendMany, texts, type, waitForStoredTexts } from './support';

test('a browser offline for 10 s while the other side sends gets everything once when it is back', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'offline');
  await type(alice.page, 'before bob went offline');
  await waitForStoredTexts(bob.page, ['before bob went offline']);

  await bob.context.setOffline(true);
  await expect(bob.page.getByTestId('connection')).toHaveAttribute('data-state', 'offline');
  const whileOffline = texts('while bob was offline', 10);
  for (const text of whileOffline) {
    await type(alice.page, text);
    await alice.page.waitForTimeout(1_000);
  }
  const backAt = Date.now();
  await bob.context.setOffline(false);

  const all = ['before bob went offline', ...whileOffline];
  const onBob = await waitForStoredTexts(bob.page, all);
  console.log(`offline: bob had all ${all.length} messages ${Date.now() - backAt} ms after coming back online`);
  expectOnceInOrder(onBob, all);
  await expect(bob.page.getByTestId('connection')).toHaveAttribute('data-state', 'online');
  await expectOwnDelivered(alice.page);
  await closeAll(alice, bob);
});

test('messages typed offline survive a reload while offline and are delivered once when the network is back', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'outbox');
  // The app shell must be cached before going offline, or the reload has nothing to show.
  await alice.page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });

  await alice.context.setOffline(true);
  await expect(alice.page.getByTestId('connection')).toHaveAttribute('data-state', 'offline');
  const typed = texts('typed offline', 5);
  for (const text of typed) await type(alice.page, text);
  await expect(alice.page.locator('[data-testid="message"][data-status="sending"]')).toHaveCount(5);

  await alice.page.reload();
  await expect(alice.page.getByTestId('connection')).toHaveAttribute('data-state', 'offline');
  await expect(alice.page.locator('[data-testid="message"][data-status="sending"]')).toHaveCount(5);

  const backAt = Date.now();
  await alice.context.setOffline(false);
  const onBob = await waitForStoredTexts(bob.page, typed);
  console.log(`outbox: bob had all 5 messages ${Date.now() - backAt} ms after alice came back online`);
  expectOnceInOrder(onBob, typed);
  await expect(alice.page.locator('[data-testid="message"][data-status="delivered"], [data-testid="message"][data-status="read"]')).toHaveCount(5);
  expectOnceInOrder(await waitForStoredTexts(alice.page, typed), typed);
  await closeAll(alice, bob);
});

test('200 messages written offline arrive once each and in the order they were written, none failed', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'long-outbox');
  await alice.context.setOffline(true);
  await expect(alice.page.getByTestId('connection')).toHaveAttribute('data-state', 'offline');
  const written = texts('written offline', 200);
  await sendMany(alice.page, written);

  const backAt = Date.now();
  await alice.context.setOffline(false);
  const onBob = await waitForStoredTexts(bob.page, written, 90_000);
  console.log(`long outbox: bob had all ${written.length} messages ${Date.now() - backAt} ms after alice came back online`);
  expectOnceInOrder(onBob, written);
  // One sender: the room's order is the order she wrote them in.
  expect(onBob.map((message) => message.text)).toEqual(written);
  await expect(alice.page.locator('[data-testid="message"][data-status="failed"]')).toHaveCount(0);
  await closeAll(alice, bob);
});
