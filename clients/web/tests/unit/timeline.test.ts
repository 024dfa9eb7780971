import { describe, expect, it } from 'vitest';
import type { StoredMessageFrame } from '../../src/lib/protocol';
import { Timeline } from '../../src/lib/timeline';

function stored(seq: number, id = `id-${seq}`, from = 'bob'): StoredMessageFrame {
  return { type: 'message', id, roomId: 'general', from, text: `message ${seq}`, sentAt: 1_000 + seq, seq, storedAt: 2_000 + seq };
}

function peerCopy(id: string, sentAt: number) {
  return { type: 'message' as const, id, roomId: 'general', from: 'mallory', text: `peer ${id}`, sentAt };
}

describe('Timeline', () => {
  it('keeps one copy of a message that arrives over the data channel and then the relay', () => {
    const timeline = new Timeline('general', 'alice');

    expect(timeline.receiveFromPeer(peerCopy('m1', 1_001), 'bob')).toBe('added');
    expect(timeline.receiveStored(stored(1, 'm1'))).toBe('confirmed');

    const messages = timeline.ordered();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ id: 'm1', seq: 1, path: 'p2p', status: 'stored' });
    expect(timeline.duplicatesDropped).toBe(0);
  });

  it('counts a relay resend and a late data-channel copy as duplicates and shows neither', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.receiveStored(stored(1, 'm1'));

    expect(timeline.receiveStored(stored(1, 'm1'))).toBe('duplicate');
    expect(timeline.receiveFromPeer(peerCopy('m1', 1_001), 'bob')).toBe('duplicate');

    expect(timeline.ordered()).toHaveLength(1);
    expect(timeline.duplicatesDropped).toBe(2);
  });

  it('names the sender by the signaled peer, not by what the data-channel frame claims', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.receiveFromPeer(peerCopy('m1', 1_001), 'bob');

    expect(timeline.get('m1')?.from).toBe('bob');
  });

  it('orders stored messages by seq whatever order they arrive in', () => {
    const timeline = new Timeline('general', 'alice');
    for (const seq of [3, 1, 2]) timeline.receiveStored(stored(seq));

    expect(timeline.ordered().map((message) => message.seq)).toEqual([1, 2, 3]);
  });

  it('places data-channel arrivals after the stored messages until their seq places them', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.receiveStored(stored(1));
    timeline.receiveFromPeer(peerCopy('late', 5_000), 'bob');
    timeline.receiveFromPeer(peerCopy('early', 4_000), 'carol');
    timeline.receiveStored(stored(2));

    expect(timeline.ordered().map((message) => message.id)).toEqual(['id-1', 'id-2', 'early', 'late']);

    timeline.receiveStored(stored(3, 'late'));
    timeline.receiveStored(stored(4, 'early'));
    expect(timeline.ordered().map((message) => message.id)).toEqual(['id-1', 'id-2', 'late', 'early']);
  });

  it('acknowledges only up to the last seq with nothing missing below it', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.receiveStored(stored(1));
    timeline.receiveStored(stored(2));
    timeline.receiveStored(stored(5));

    expect(timeline.contiguousSeq).toBe(2);
    expect(timeline.gap()).toEqual({ afterSeq: 2, beforeSeq: 5 });

    timeline.receiveStored(stored(3));
    timeline.receiveStored(stored(4));
    expect(timeline.contiguousSeq).toBe(5);
    expect(timeline.gap()).toBeUndefined();
  });

  it('does not expect messages below the seq it resumed after', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.startAt(40);
    timeline.receiveStored(stored(41));

    expect(timeline.contiguousSeq).toBe(41);
    expect(timeline.gap()).toBeUndefined();
  });

  it('moves an own message through sending, accepted, stored, delivered and read', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.addMember('bob');
    timeline.addOwn('mine', 'hi', 1_000);
    expect(timeline.get('mine')?.status).toBe('sending');

    timeline.markAccepted('mine');
    expect(timeline.get('mine')?.status).toBe('accepted');

    timeline.receiveStored(stored(7, 'mine', 'alice'));
    expect(timeline.get('mine')?.status).toBe('stored');

    timeline.applyReceipt('bob', 7, 0);
    expect(timeline.get('mine')?.status).toBe('delivered');

    timeline.applyReceipt('bob', 7, 7);
    expect(timeline.get('mine')?.status).toBe('read');
  });

  it('shows delivered only when every other member has it', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.addMember('bob');
    timeline.addMember('carol');
    timeline.addOwn('mine', 'hi', 1_000);
    timeline.receiveStored(stored(1, 'mine', 'alice'));

    timeline.applyReceipt('bob', 1, 1);
    expect(timeline.get('mine')?.status).toBe('stored');

    timeline.applyReceipt('carol', 1, 0);
    expect(timeline.get('mine')?.status).toBe('delivered');
  });

  it('never moves a status back when an accepted frame comes after the stored copy', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.addOwn('mine', 'hi', 1_000);
    timeline.receiveStored(stored(1, 'mine', 'alice'));
    timeline.markAccepted('mine');

    expect(timeline.get('mine')?.status).toBe('stored');
  });

  it('shows the stored text when a peer sent a different one over the data channel', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.receiveFromPeer({ ...peerCopy('m1', 1_001), text: 'what the peer claimed' }, 'bob');
    timeline.receiveStored(stored(1, 'm1'));

    expect(timeline.get('m1')?.text).toBe('message 1');
  });

  it('marks an accepted message failed only for a refusal that comes after the broker, such as an id conflict', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.addOwn('mine', 'hi', 1_000);
    timeline.markAccepted('mine');
    timeline.markFailed('mine', 'id-conflict: taken', true);

    expect(timeline.get('mine')).toMatchObject({ status: 'failed', error: 'id-conflict: taken' });
  });

  it('does not mark a message failed once the broker accepted it', () => {
    const timeline = new Timeline('general', 'alice');
    timeline.addOwn('mine', 'hi', 1_000);
    timeline.markAccepted('mine');
    timeline.markFailed('mine', 'unavailable');

    expect(timeline.get('mine')?.status).toBe('accepted');
  });
});
