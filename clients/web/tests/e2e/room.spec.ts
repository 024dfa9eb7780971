import { expect, test } from '@playwright/test';
import { closeAll, expectOnceInOrder, metricSum, openChat, openPair, relayPorts, sendMany, texts, type, uniqueRoom, waitForStoredTexts } from './support';

test('three people in one room, spread over both Relay and Signaling instances, see the same messages in the same order', async ({ browser }) => {
  const room = uniqueRoom('three');
  const alice = await openChat(browser, 'alice', room);
  const bob = await openChat(browser, 'bob', room);
  const carol = await openChat(browser, 'carol', room);
  // Each instance's own /metrics (not through the gateway) shows a connection: the gateway spread the three pages.
  for (const port of [5201, 5202, 5101, 5102]) expect(await metricSum([port], 'chat_connections'), `connections on :${port}`).toBeGreaterThan(0);
  for (const chat of [alice, bob, carol]) await expect(chat.page.getByTestId('peer')).toHaveCount(2);

  const sent = [...texts('alice', 10), ...texts('bob', 10), ...texts('carol', 10)];
  await Promise.all([
    sendMany(alice.page, texts('alice', 10)),
    sendMany(bob.page, texts('bob', 10)),
    sendMany(carol.page, texts('carol', 10)),
  ]);

  const shown = await Promise.all([alice, bob, carol].map((chat) => waitForStoredTexts(chat.page, sent)));
  for (const onePage of shown) expectOnceInOrder(onePage, sent);
  expect(shown[1]!.map((message) => message.id)).toEqual(shown[0]!.map((message) => message.id));
  expect(shown[2]!.map((message) => message.id)).toEqual(shown[0]!.map((message) => message.id));
  await closeAll(alice, bob, carol);
});

test('on a slow, high-latency network 50 messages still arrive once and in order on both sides', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'slow');
  for (const chat of [alice, bob]) {
    const session = await chat.context.newCDPSession(chat.page);
    await session.send('Network.enable');
    await session.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 400,
      downloadThroughput: (256 * 1024) / 8,
      uploadThroughput: (256 * 1024) / 8,
    });
  }

  const fromAlice = texts('slow alice', 25);
  const fromBob = texts('slow bob', 25);
  await Promise.all([sendMany(alice.page, fromAlice), sendMany(bob.page, fromBob)]);

  const all = [...fromAlice, ...fromBob];
  const onAlice = await waitForStoredTexts(alice.page, all, 90_000);
  const onBob = await waitForStoredTexts(bob.page, all, 90_000);
  expectOnceInOrder(onAlice, all);
  expectOnceInOrder(onBob, all);
  expect(onBob.map((message) => message.id)).toEqual(onAlice.map((message) => message.id));
  await closeAll(alice, bob);
});

test('a message with markup is shown as text and runs nothing', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'markup');
  const markup = '<img src=x onerror="window.injected=1"><b>bold?</b>';

  await type(alice.page, markup);

  for (const chat of [alice, bob]) {
    const message = chat.page.getByTestId('message-text').filter({ hasText: 'bold?' });
    await expect(message).toHaveText(markup);
    await expect(chat.page.locator('[data-testid="message"] img, [data-testid="message"] b')).toHaveCount(0);
    expect(await chat.page.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
  }
  await closeAll(alice, bob);
});

test('a message the relay refuses shows failed with a retry button, and nobody else ever shows it', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'refused', { overDataChannel: true });
  const tooLong = 'x'.repeat(4_001); // the composer stops at 4,000 characters; a program using the library might not
  const refusedBefore = await metricSum(relayPorts, 'chat_messages_rejected_total', 'reason="too-large"');

  await alice.page.evaluate(async (text) => {
    await window.chat!.send(text);
  }, tooLong);
  await type(alice.page, 'a normal message after it');

  const refused = alice.page.locator('[data-testid="message"][data-status="failed"]');
  await expect(refused).toHaveCount(1);
  await expect(refused.getByTestId('retry')).toBeVisible();
  await refused.getByTestId('retry').click();
  // The retry went to the relay again and was refused again: two refusals counted, still failed.
  await expect.poll(() => metricSum(relayPorts, 'chat_messages_rejected_total', 'reason="too-large"')).toBe(refusedBefore + 2);
  await expect(refused).toHaveAttribute('data-status', 'failed');
  const onBob = await waitForStoredTexts(bob.page, ['a normal message after it']);
  expect(onBob.map((message) => message.text)).toEqual(['a normal message after it']);
  await closeAll(alice, bob);
});

test('a phone-sized screen shows the room, the messages and a usable composer', async ({ browser }, testInfo) => {
  const room = uniqueRoom('phone');
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(`/?user=alice&room=${room}`);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'online');
  await page.getByTestId('composer').tap();
  await page.getByTestId('composer').fill('hello from a phone');
  await page.getByTestId('send').tap();
  await expect(page.getByTestId('message')).toHaveAttribute('data-seq', '1');

  for (const testId of ['composer', 'send', 'message', 'connection']) {
    const box = await page.getByTestId(testId).boundingBox();
    expect(box, testId).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, `${testId} fits the width`).toBeLessThanOrEqual(390);
    expect(box!.y + box!.height, `${testId} is on screen`).toBeLessThanOrEqual(844);
  }
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  const screenshot = testInfo.outputPath('phone.png');
  await page.screenshot({ path: screenshot });
  await testInfo.attach('phone', { path: screenshot, contentType: 'image/png' });
  console.log(`phone screenshot: ${screenshot}`);
  await context.close();
});
