import { expect, test, type Page } from '@playwright/test';
import { closeAll, expectOnceInOrder, expectOwnDelivered, openPair, sendMany, texts, type, waitForPeerPath, waitForStoredTexts } from './support';

test('with WebRTC blocked on one side the first message comes by the relay at once, and every status reaches delivered', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'blocked', { aliceQuery: '&rtc=block' });
  await expect(alice.page.getByTestId('peer')).toHaveCount(1);
  await expect(bob.page.getByTestId('peer')).toHaveAttribute('data-path', 'connecting');
  await recordPeerPathWhenShown(bob.page, 'first, without waiting for WebRTC');

  await type(alice.page, 'first, without waiting for WebRTC');

  const first = bob.page.locator('[data-testid="message"]', { hasText: 'first, without waiting for WebRTC' });
  await expect(first).toHaveAttribute('data-seq', '1');
  // It arrived while the peer connection was still trying: nothing waited for the fallback timeout.
  expect(await peerPathWhenShown(bob.page)).toBe('connecting');
  await expect(first).toHaveAttribute('data-path', 'relay');

  await waitForPeerPath(alice.page, 'relay');
  await waitForPeerPath(bob.page, 'relay');
  await type(bob.page, 'an answer by the relay');
  await sendMany(alice.page, texts('more', 5));

  const all = ['first, without waiting for WebRTC', 'an answer by the relay', ...texts('more', 5)];
  for (const chat of [alice, bob]) {
    const shown = await waitForStoredTexts(chat.page, all);
    expectOnceInOrder(shown, all);
    expect(shown.every((message) => message.path === 'relay')).toBe(true);
    await expectOwnDelivered(chat.page);
  }
  await closeAll(alice, bob);
});

test('closing the data channel in the middle of a 200-message burst loses nothing and repeats nothing', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'burst', { overDataChannel: true });
  const burst = texts('burst', 200);

  await alice.page.evaluate(async (all) => {
    for (const [index, text] of all.entries()) {
      await window.chat!.send(text);
      if (index === 59) window.chat!.dropPeerChannels();
    }
  }, burst);

  const onAlice = await waitForStoredTexts(alice.page, burst);
  const onBob = await waitForStoredTexts(bob.page, burst);
  expectOnceInOrder(onAlice, burst);
  expectOnceInOrder(onBob, burst);
  expect(onBob.map((message) => message.id)).toEqual(onAlice.map((message) => message.id));
  const byPath = (path: string) => onBob.filter((message) => message.path === path).length;
  expect(byPath('p2p')).toBeGreaterThan(0);
  expect(byPath('relay')).toBeGreaterThan(0);
  console.log(`burst: bob got ${byPath('p2p')} of 200 first over the data channel, ${byPath('relay')} first by the relay`);
  await closeAll(alice, bob);
});

type PathRecord = { peerPathWhenShown?: string };

/**
 * Notes the peer's path at the moment a message with this text gets its seq on the page. Read afterwards, the path
 * could already have moved on: the fallback timer may fire between the message showing and the check.
 */
async function recordPeerPathWhenShown(page: Page, text: string): Promise<void> {
  await page.evaluate((wanted) => {
    new MutationObserver((_, observer) => {
      const shown = [...document.querySelectorAll('[data-testid="message"][data-seq]')].some((item) => item.textContent?.includes(wanted));
      if (!shown) return;
      (window as Window & PathRecord).peerPathWhenShown = document.querySelector('[data-testid="peer"]')?.getAttribute('data-path') ?? 'no peer shown';
      observer.disconnect();
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-seq'] });
  }, text);
}

async function peerPathWhenShown(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (window as Window & PathRecord).peerPathWhenShown);
}
