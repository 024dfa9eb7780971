import { expect, test } from '@playwright/test';
import { closeAll, openPair, shownMessages, type } from './support';

test('two browsers chat over the data channel and each shows the peer as p2p', async ({ browser }) => {
  const { alice, bob } = await openPair(browser, 'p2p', { overDataChannel: true });

  await type(alice.page, 'hello over the data channel');

  const received = bob.page.locator('[data-testid="message"]', { hasText: 'hello over the data channel' });
  await expect(received).toHaveAttribute('data-path', 'p2p');
  await expect(received).toHaveAttribute('data-seq', '1');
  const sent = alice.page.locator('[data-testid="message"]', { hasText: 'hello over the data channel' });
  await expect(sent).toHaveAttribute('data-status', /delivered|read/);
  expect((await shownMessages(bob.page)).length).toBe(1);
  await closeAll(alice, bob);
});
