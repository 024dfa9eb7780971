import { describe, expect, it } from 'vitest';
import { newMessageId } from '../../src/lib/client';
import { readPeerFrame, readRelayFrame, readSignalingFrame } from '../../src/lib/protocol';

describe('frame readers', () => {
  it('reads a stored message from the relay', () => {
    const frame = readRelayFrame('{"type":"message","id":"m","roomId":"r","from":"bob","text":"hi","sentAt":1,"seq":4,"storedAt":2}');
    expect(frame).toMatchObject({ type: 'message', seq: 4 });
  });

  it('drops relay frames that are not JSON objects, lack fields or have unknown types', () => {
    expect(readRelayFrame('not json')).toBeUndefined();
    expect(readRelayFrame('[1,2]')).toBeUndefined();
    expect(readRelayFrame('{"type":"message","id":"m","roomId":"r","from":"bob","text":"hi","sentAt":1,"seq":-1}')).toBeUndefined();
    expect(readRelayFrame('{"type":"receipt","roomId":"r","user":"bob","delivered":"3","read":1}')).toBeUndefined();
    expect(readRelayFrame('{"type":"surprise"}')).toBeUndefined();
  });

  it('drops signaling descriptions without a sender or an sdp', () => {
    expect(readSignalingFrame('{"type":"offer","roomId":"r","sdp":"v=0"}')).toBeUndefined();
    expect(readSignalingFrame('{"type":"offer","from":"a~1","roomId":"r","sdp":"v=0"}')).toMatchObject({ type: 'offer' });
  });

  it('refuses a peer message that is empty or longer than the relay would store', () => {
    const frame = (text: string) => JSON.stringify({ type: 'message', id: 'm', roomId: 'r', from: 'x', text, sentAt: 1_000 });
    expect(readPeerFrame(frame(''), 1_000)).toBeUndefined();
    expect(readPeerFrame(frame('x'.repeat(4001)), 1_000)).toBeUndefined();
    expect(readPeerFrame(frame('hello'), 1_000)).toMatchObject({ text: 'hello' });
  });

  it('refuses a peer message whose send time is not a plausible clock reading', () => {
    const frame = (sentAt: number) => JSON.stringify({ type: 'message', id: 'm', roomId: 'r', from: 'x', text: 'hi', sentAt });
    const now = 1_764_000_000_000;
    expect(readPeerFrame(frame(-1e300), now)).toBeUndefined();
    expect(readPeerFrame(frame(now + 25 * 3_600_000), now)).toBeUndefined();
    expect(readPeerFrame(frame(1.5), now)).toBeUndefined();
    expect(readPeerFrame(frame(now - 60_000), now)).toMatchObject({ sentAt: now - 60_000 });
  });
});

describe('newMessageId', () => {
  it('makes a version 7 UUID whose first bits are the send time', () => {
    const id = newMessageId(0x0123456789ab, new Uint8Array(10).fill(0xff));

    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id.startsWith('01234567-89ab-')).toBe(true);
  });

  it('sorts ids of later messages after earlier ones', () => {
    const random = new Uint8Array(10);
    expect(newMessageId(1_000, random) < newMessageId(2_000, random)).toBe(true);
  });
});
