import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { IndexedDbOutboxStorage, MemoryOutboxStorage, Outbox, type OutboxOptions } from '../../src/lib/outbox';

const options: OutboxOptions = { acceptTimeoutMs: 5_000, maxAttempts: 3, retry: { initialMs: 1_000, maxMs: 10_000, jitter: 0 } };

function message(id: string, sentAt = 100) {
  return { id, user: 'alice', roomId: 'general', text: `text of ${id}`, sentAt };
}

describe('Outbox', () => {
  it('makes a new message due at once', async () => {
    const outbox = new Outbox(new MemoryOutboxStorage(), options);
    await outbox.add(message('a'), 0);

    expect(outbox.due(0).map((pending) => pending.id)).toEqual(['a']);
  });

  it('waits for accepted after a send, then counts the silence as a failed attempt and backs off', async () => {
    const outbox = new Outbox(new MemoryOutboxStorage(), options);
    await outbox.add(message('a'), 0);
    outbox.transmitted('a', 0);

    expect(outbox.due(4_999)).toEqual([]);
    expect(outbox.isAwaiting('a')).toBe(true);
    expect(outbox.due(5_000).map((pending) => pending.id)).toEqual(['a']);

    await outbox.attemptFailed('a', 5_000, 'no answer');
    expect(outbox.isAwaiting('a')).toBe(false);
    expect(outbox.nextDueAt()).toBe(6_000);
    outbox.transmitted('a', 6_000);
    await outbox.attemptFailed('a', 11_000, 'no answer');
    expect(outbox.nextDueAt()).toBe(13_000);
  });

  it('marks a message failed when its attempts run out, and retry starts it again', async () => {
    const outbox = new Outbox(new MemoryOutboxStorage(), options);
    await outbox.add(message('a'), 0);

    expect(await outbox.attemptFailed('a', 0, 'unavailable')).toBe(false);
    expect(await outbox.attemptFailed('a', 0, 'unavailable')).toBe(false);
    expect(await outbox.attemptFailed('a', 0, 'unavailable')).toBe(true);
    expect(outbox.get('a')).toMatchObject({ failed: true, error: 'unavailable' });
    expect(outbox.nextDueAt()).toBeUndefined();

    await outbox.retry('a', 50);
    expect(outbox.get('a')).toMatchObject({ failed: false, attempts: 0 });
    expect(outbox.due(50).map((pending) => pending.id)).toEqual(['a']);
  });

  it('stops sending once the broker accepted a message', async () => {
    const outbox = new Outbox(new MemoryOutboxStorage(), options);
    await outbox.add(message('a'), 0);
    outbox.transmitted('a', 0);
    await outbox.accepted('a');

    expect(outbox.due(60_000)).toEqual([]);
    expect(await outbox.attemptFailed('a', 60_000, 'late error')).toBe(false);
  });

  it('sends everything unanswered at once after a reconnect, without counting an attempt', async () => {
    const outbox = new Outbox(new MemoryOutboxStorage(), options);
    await outbox.add(message('a', 1), 0);
    await outbox.add(message('b', 2), 0);
    outbox.transmitted('a', 0);
    await outbox.attemptFailed('b', 0, 'unavailable');

    outbox.reconnected(10);

    expect(outbox.due(10).map((pending) => pending.id)).toEqual(['a', 'b']);
    expect(outbox.get('a')?.attempts).toBe(0);
    expect(outbox.isAwaiting('a')).toBe(false);
  });

  it('keeps the send order when failed messages back off: a later one waits for the earlier one', async () => {
    // Jitter makes the earlier message's retry come later than the later one's: 1,000 ms against 500 ms.
    const draws = [1, 0];
    const outbox = new Outbox(new MemoryOutboxStorage(), { ...options, retry: { initialMs: 1_000, maxMs: 10_000, jitter: 0.5 } }, () => draws.shift() ?? 0);
    await outbox.add(message('a', 1), 0);
    await outbox.add(message('b', 2), 0);
    outbox.transmitted('a', 0);
    outbox.transmitted('b', 0);
    await outbox.attemptFailed('a', 0, 'unavailable');
    await outbox.attemptFailed('b', 0, 'unavailable');

    expect(outbox.due(500)).toEqual([]);
    expect(outbox.nextDueAt()).toBe(1_000);
    expect(outbox.due(1_000).map((pending) => pending.id)).toEqual(['a', 'b']);
  });

  it('does not hold later messages back for one that is only waiting for its accepted, or one shown failed', async () => {
    const outbox = new Outbox(new MemoryOutboxStorage(), { ...options, maxAttempts: 1 });
    await outbox.add(message('a', 1), 0);
    await outbox.add(message('b', 2), 0);
    await outbox.add(message('c', 3), 0);
    outbox.transmitted('a', 0);
    await outbox.attemptFailed('b', 0, 'unavailable');

    expect(outbox.get('b')?.failed).toBe(true);
    expect(outbox.due(0).map((pending) => pending.id)).toEqual(['c']);
  });

  it('forgets a message once its stored copy came back', async () => {
    const storage = new MemoryOutboxStorage();
    const outbox = new Outbox(storage, options);
    await outbox.add(message('a'), 0);
    await outbox.stored('a');

    expect(outbox.size).toBe(0);
    expect(await storage.load('alice', 'general')).toEqual([]);
  });

  it('gives a message that waited more than a day a fresh send time, which the relay would otherwise refuse', async () => {
    const day = 24 * 3_600_000;
    const storage = new MemoryOutboxStorage();
    await storage.put({ ...message('old', 1_000), attempts: 0, accepted: false, failed: false });
    const outbox = new Outbox(storage, options);

    const [restored] = await outbox.restore('alice', 'general', 1_000 + day);

    expect(restored?.sentAt).toBe(1_000 + day);
  });

  it('keeps working in memory when its storage fails', async () => {
    const broken = { load: () => Promise.reject(new Error('quota')), put: () => Promise.reject(new Error('quota')), remove: () => Promise.reject(new Error('quota')) };
    const outbox = new Outbox(broken, options);

    expect(await outbox.restore('alice', 'general', 0)).toEqual([]);
    await outbox.add(message('a'), 0);
    expect(outbox.due(0).map((pending) => pending.id)).toEqual(['a']);
    await outbox.stored('a');
    expect(outbox.size).toBe(0);
  });

  it('does not retry a refusal that a retry cannot fix', async () => {
    const outbox = new Outbox(new MemoryOutboxStorage(), options);
    await outbox.add(message('a'), 0);
    await outbox.refuse('a', 'too-large');

    expect(outbox.get('a')).toMatchObject({ failed: true, error: 'too-large' });
    expect(outbox.due(1_000_000)).toEqual([]);
  });
});

describe('IndexedDbOutboxStorage', () => {
  it('keeps unsent messages for the next page of the same user and room, in send order', async () => {
    const factory = new IDBFactory();
    const firstPage = new Outbox(new IndexedDbOutboxStorage('outbox-test', factory), options);
    await firstPage.add(message('second', 200), 0);
    await firstPage.add(message('first', 100), 0);
    await firstPage.add({ ...message('other-room'), roomId: 'random' }, 0);
    await firstPage.add(message('done', 50), 0);
    await firstPage.stored('done');

    const nextPage = new Outbox(new IndexedDbOutboxStorage('outbox-test', factory), options);
    const restored = await nextPage.restore('alice', 'general', 1_000);

    expect(restored.map((pending) => pending.id)).toEqual(['first', 'second']);
    expect(nextPage.due(1_000).map((pending) => pending.id)).toEqual(['first', 'second']);
  });

  it('restores a failed message as failed, waiting for the retry button', async () => {
    const factory = new IDBFactory();
    const storage = new IndexedDbOutboxStorage('outbox-test', factory);
    const firstPage = new Outbox(storage, options);
    await firstPage.add(message('a'), 0);
    await firstPage.refuse('a', 'invalid');

    const nextPage = new Outbox(new IndexedDbOutboxStorage('outbox-test', factory), options);
    const [restored] = await nextPage.restore('alice', 'general', 0);

    expect(restored).toMatchObject({ id: 'a', failed: true, error: 'invalid' });
    expect(nextPage.due(0)).toEqual([]);
  });
});
