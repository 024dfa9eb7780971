import { writeFileSync } from 'node:fs';
import { test, type Page } from '@playwright/test';
import { closeAll, openPair, sendMany, texts, waitForPeerPath, waitForStoredTexts } from '../tests/e2e/support';

// Figures of the design brief's browser targets: join → data channel open, and message latency over the data
// channel and over the relay, as the receiving page saw them (receivedAt − sentAt; both pages share one clock).
const pairs = Number(process.env.BENCH_PAIRS ?? 10);
const messages = Number(process.env.BENCH_MESSAGES ?? 200);
const rate = Number(process.env.BENCH_RATE ?? 20);

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? Number.NaN;
}

function summary(values: number[]) {
  return { count: values.length, p50: percentile(values, 0.5), p95: percentile(values, 0.95), p99: percentile(values, 0.99), max: Math.max(...values) };
}

/** Sends `count` messages at `rate` a second from one page; returns the receiver's latency for each, by first path. */
async function latencies(sender: Page, receiver: Page, prefix: string): Promise<{ p2p: number[]; relay: number[] }> {
  const all = texts(prefix, messages);
  const perTick = Math.max(1, Math.round(rate / 10));
  for (let index = 0; index < all.length; index += perTick) {
    await sendMany(sender, all.slice(index, index + perTick));
    await sender.waitForTimeout(100);
  }
  await waitForStoredTexts(receiver, all, 120_000);
  const received = await receiver.evaluate(() => window.chat!.messages().map((message) => ({ path: message.path, latency: message.receivedAt - message.sentAt })));
  return {
    p2p: received.filter((message) => message.path === 'p2p').map((message) => message.latency),
    relay: received.filter((message) => message.path === 'relay').map((message) => message.latency),
  };
}

test('browser figures', async ({ browser }) => {
  const handshakes: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const { alice, bob } = await openPair(browser, 'bench-join', { overDataChannel: true });
    for (const chat of [alice, bob]) {
      const [peer] = await chat.page.evaluate(() => window.chat!.peers());
      if (peer?.handshakeMs !== undefined) handshakes.push(peer.handshakeMs);
    }
    await closeAll(alice, bob);
  }

  const direct = await openPair(browser, 'bench-p2p', { overDataChannel: true });
  const overDataChannel = await latencies(direct.alice.page, direct.bob.page, 'p2p');
  await closeAll(direct.alice, direct.bob);

  const blocked = await openPair(browser, 'bench-relay', { aliceQuery: '&rtc=block' });
  await waitForPeerPath(blocked.bob.page, 'relay');
  const overRelay = await latencies(blocked.alice.page, blocked.bob.page, 'relay');
  await closeAll(blocked.alice, blocked.bob);

  const figures = {
    settings: { pairs, messages, rate },
    joinToDataChannelOpenMs: summary(handshakes),
    dataChannelLatencyMs: summary(overDataChannel.p2p),
    relayCopiesWhileDataChannelOpen: overDataChannel.relay.length,
    relayLatencyMs: summary(overRelay.relay),
  };
  console.log(JSON.stringify(figures, null, 2));
  writeFileSync(test.info().outputPath('browser-figures.json'), JSON.stringify(figures, null, 2));
});
