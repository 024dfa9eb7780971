import type { BackoffOptions } from './backoff';
import { Emitter } from './events';
import { IndexedDbOutboxStorage, MemoryOutboxStorage, Outbox, defaultOutboxOptions, type OutboxOptions, type OutboxStorage } from './outbox';
import { PeerMesh, type PeerView } from './peer-mesh';
import {
  readRelayFrame,
  readSignalingFrame,
  type ErrorFrame,
  type PeerMessageFrame,
  type RelayClientFrame,
  type SignalingClientFrame,
  type StoredMessageFrame,
} from './protocol';
import { defaultFrameLimits, readFrameLimits, SendBudget } from './send-budget';
import { ReconnectingSocket } from './socket';
import { Timeline, type TimelineMessage } from './timeline';

export type ConnectionState = 'online' | 'reconnecting' | 'offline';

export interface ChatClientOptions {
  user: string;
  roomId: string;
  /** Where the gateway is; the page's own origin by default. */
  baseUrl?: string;
  /** Returns a token for the user and room. By default the gateway's development issuer (`POST /auth/token`). */
  token?: () => Promise<string>;
  /** Never open a data channel (drop every ICE candidate): everything goes by the relay. */
  blockPeerToPeer?: boolean;
  /** Where unsent messages wait; IndexedDB by default, so they survive a reload. */
  outboxStorage?: OutboxStorage;
  outbox?: OutboxOptions;
  /** A data channel not open within this long counts as a fallback to the relay. Default 5 s. */
  peerConnectTimeoutMs?: number;
  /** Waits between WebRTC attempts after a failure. Default 5 s doubling to 2 min. */
  peerRetry?: BackoffOptions;
  /** Waits between socket reconnects. Default 250 ms doubling to 15 s. */
  reconnect?: BackoffOptions;
  /** Client pings; a socket silent for interval + timeout is replaced. Default 10 s + 5 s. */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** How often client telemetry (duplicates dropped, gaps) is reported when it changed. Default 15 s. */
  telemetryIntervalMs?: number;
}

export interface ChatClientEvents {
  /** The room's messages changed: the whole list in display order. */
  messages: TimelineMessage[];
  peers: PeerView[];
  connection: ConnectionState;
  /** A refusal that concerns no one message (a forbidden room, a failed subscribe …). */
  error: ErrorFrame;
}

/** Refusals that no retry can fix: the message is shown failed with the server's reason. */
const permanentErrors = new Set(['invalid', 'too-large', 'forbidden', 'id-conflict']);

/**
 * A chat room for one user: the relay socket (always), a data channel to every peer that can open one, an outbox
 * that outlives the page, and the timeline that turns both paths into one ordered list without duplicates.
 */
export class ChatClient extends Emitter<ChatClientEvents> {
  readonly timeline: Timeline;
  private readonly outbox: Outbox;
  private readonly mesh: PeerMesh;
  private readonly relay: ReconnectingSocket<RelayClientFrame>;
  private readonly signaling: ReconnectingSocket<SignalingClientFrame>;
  private readonly baseUrl: string;
  private token?: { value: string; expiresAt: number };
  private outboxTimer?: ReturnType<typeof setTimeout>;
  private ackTimer?: ReturnType<typeof setTimeout>;
  private renderTimer?: ReturnType<typeof setTimeout>;
  private subscribeTimer?: ReturnType<typeof setTimeout>;
  private gapTimer?: ReturnType<typeof setTimeout>;
  private readonly sendBudget = new SendBudget(defaultFrameLimits, Date.now());
  private pumping = false;
  private pumpAgain = false;
  private telemetryTimer?: ReturnType<typeof setInterval>;
  private acked = 0;
  private read = 0;
  private readWanted = 0;
  private fetchingHistory = false;
  private lastGapAfter = -1;
  private reported = { duplicatesDropped: 0, gaps: 0 };
  private started = false;
  private readonly onOnline = () => this.setOnline(true);
  private readonly onOffline = () => this.setOnline(false);
  private readonly onPageHide = () => this.reportTelemetry();

  constructor(private readonly options: ChatClientOptions) {
    super();
    this.baseUrl = (options.baseUrl ?? globalThis.location?.origin ?? '').replace(/\/$/, '');
    this.timeline = new Timeline(options.roomId, options.user);
    this.outbox = new Outbox(options.outboxStorage ?? defaultStorage(), options.outbox ?? defaultOutboxOptions);
    const reconnect = options.reconnect ?? { initialMs: 250, maxMs: 15_000, jitter: 0.5 };
    const socketOptions = { reconnect, pingIntervalMs: options.pingIntervalMs ?? 10_000, pongTimeoutMs: options.pongTimeoutMs ?? 5_000 };
    this.relay = new ReconnectingSocket<RelayClientFrame>({ ...socketOptions, url: () => this.socketUrl('/ws/relay') });
    this.signaling = new ReconnectingSocket<SignalingClientFrame>({ ...socketOptions, url: () => this.socketUrl('/ws/signaling') });
    this.mesh = new PeerMesh({
      roomId: options.roomId,
      blockIce: options.blockPeerToPeer ?? false,
      connectTimeoutMs: options.peerConnectTimeoutMs ?? 5_000,
      retry: options.peerRetry ?? { initialMs: 5_000, maxMs: 120_000, jitter: 0.3 },
      signal: (frame) => this.signaling.send(frame),
    });
    this.wire();
  }

  get user(): string {
    return this.options.user;
  }

  get roomId(): string {
    return this.options.roomId;
  }

  get connectionState(): ConnectionState {
    if (globalThis.navigator?.onLine === false) return 'offline';
    return this.relay.state === 'open' ? 'online' : 'reconnecting';
  }

  messages(): TimelineMessage[] {
    return this.timeline.ordered();
  }

  peers(): PeerView[] {
    return this.mesh.views();
  }

  /** Loads what an earlier page left unsent, then connects both sockets. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const restored = await this.outbox.restore(this.options.user, this.options.roomId, Date.now());
    for (const pending of restored) {
      const message = this.timeline.addOwn(pending.id, pending.text, pending.sentAt, pending.accepted ? 'accepted' : 'sending');
      if (pending.failed) this.timeline.markFailed(message.id, pending.error ?? 'failed');
    }
    if (restored.length > 0) this.render();
    globalThis.addEventListener?.('online', this.onOnline);
    globalThis.addEventListener?.('offline', this.onOffline);
    globalThis.addEventListener?.('pagehide', this.onPageHide);
    this.telemetryTimer = setInterval(() => this.reportTelemetry(), this.options.telemetryIntervalMs ?? 15_000);
    this.relay.start();
    this.signaling.start();
    if (globalThis.navigator?.onLine === false) this.setOnline(false);
    this.emit('connection', this.connectionState);
  }

  stop(): void {
    this.reportTelemetry();
    globalThis.removeEventListener?.('online', this.onOnline);
    globalThis.removeEventListener?.('offline', this.onOffline);
    globalThis.removeEventListener?.('pagehide', this.onPageHide);
    clearInterval(this.telemetryTimer);
    clearTimeout(this.outboxTimer);
    clearTimeout(this.ackTimer);
    clearTimeout(this.subscribeTimer);
    clearTimeout(this.gapTimer);
    this.mesh.closeAll();
    this.relay.stop();
    this.signaling.stop();
  }

  /**
   * Sends a message: into the persistent outbox and to the relay (which stores it), and at once over every open data
   * channel. Returns its id.
   */
  async send(text: string): Promise<string> {
    const id = newMessageId();
    const sentAt = Date.now();
    this.timeline.addOwn(id, text, sentAt);
    this.render();
    const frame: PeerMessageFrame = { type: 'message', id, roomId: this.options.roomId, from: this.options.user, text, sentAt };
    this.mesh.broadcast(frame);
    await this.outbox.add({ id, user: this.options.user, roomId: this.options.roomId, text, sentAt }, Date.now());
    this.pumpOutbox();
    return id;
  }

  /** Sends a failed message again (the retry button). */
  async retry(id: string): Promise<void> {
    const failed = this.outbox.get(id);
    if (failed?.error?.startsWith('id-conflict')) {
      // The id belongs to someone else's message: the same text goes again under a new id.
      await this.outbox.stored(id);
      this.timeline.remove(id);
      await this.send(failed.text);
      return;
    }
    const pending = await this.outbox.retry(id, Date.now());
    if (!pending) return;
    this.timeline.markSending(id);
    this.render();
    this.pumpOutbox();
  }

  /** Everything received so far has been seen by the user. */
  markRead(): void {
    this.readWanted = this.timeline.contiguousSeq;
    this.scheduleAck();
  }

  /** Closes every data channel as a network failure would (diagnosis and tests); WebRTC retries later. */
  dropPeerChannels(): void {
    this.mesh.dropChannels();
  }

  /** Drops the relay socket as a network failure would (diagnosis and tests); it reconnects and resumes. */
  interruptRelay(): void {
    this.relay.interrupt();
  }

  private wire(): void {
    this.relay.on('open', () => {
      this.relay.send({ type: 'subscribe', roomId: this.options.roomId, afterSeq: this.timeline.contiguousSeq });
      // Cursors never move back on the server, so re-sending them is harmless; an ack lost with the old socket is not.
      this.acked = 0;
      this.read = 0;
      this.outbox.reconnected(Date.now());
      // The outbox goes once the welcome has stated this connection's frame budget.
      this.sendBudget.empty(Date.now());
      this.scheduleAck();
      this.emit('connection', this.connectionState);
    });
    this.relay.on('close', () => this.emit('connection', this.connectionState));
    this.relay.on('frame', (text) => this.onRelayFrame(text));
    this.signaling.on('frame', (text) => {
      const frame = readSignalingFrame(text);
      if (!frame) return;
      if (frame.type === 'welcome') {
        this.mesh.welcome(frame.clientId, Array.isArray(frame.iceServers) ? frame.iceServers : []);
        this.signaling.send({ type: 'join', roomId: this.options.roomId });
      } else if (frame.type === 'error') {
        if (frame.code === 'forbidden') this.emit('error', frame);
      } else {
        this.mesh.handle(frame);
      }
    });
    this.mesh.on('peers', (peers) => {
      for (const peer of peers) this.timeline.addMember(peer.user);
      this.emit('peers', peers);
      this.render();
    });
    this.mesh.on('message', ({ frame, from }) => {
      if (this.timeline.receiveFromPeer(frame, from) === 'added') this.render();
    });
  }

  private onRelayFrame(text: string): void {
    const frame = readRelayFrame(text);
    if (!frame) return;
    switch (frame.type) {
      case 'welcome':
        this.sendBudget.setLimits(readFrameLimits(frame.limits) ?? defaultFrameLimits, Date.now());
        this.pumpOutbox();
        break;
      case 'message':
        this.onStored(frame);
        break;
      case 'accepted':
        this.timeline.markAccepted(frame.id);
        void this.outbox.accepted(frame.id);
        this.render();
        break;
      case 'receipt':
        if (frame.roomId === this.options.roomId) {
          this.timeline.applyReceipt(frame.user, frame.delivered, frame.read);
          this.render();
        }
        break;
      case 'subscribed':
        this.checkGap();
        break;
      case 'error':
        void this.onRelayError(frame);
        break;
      default:
        break;
    }
  }

  private onStored(frame: StoredMessageFrame): void {
    if (frame.roomId !== this.options.roomId) return;
    const result = this.timeline.receiveStored(frame);
    // A resend of something already acknowledged means the ack did not arrive: send it again.
    if (result === 'duplicate' && frame.seq <= this.acked) this.acked = frame.seq - 1;
    if (result !== 'duplicate' && frame.from === this.options.user) void this.outbox.stored(frame.id);
    if (result !== 'duplicate') this.render();
    this.scheduleAck();
    this.checkGap();
  }

  private async onRelayError(frame: ErrorFrame): Promise<void> {
    const ref = frame.ref ?? '';
    if (this.outbox.get(ref)) {
      if (permanentErrors.has(frame.code)) {
        await this.outbox.refuse(ref, `${frame.code}: ${frame.message}`);
        // id-conflict comes after accepted: the broker took it, but Delivery found the id taken by someone else.
        this.timeline.markFailed(ref, `${frame.code}: ${frame.message}`, frame.code === 'id-conflict');
      } else if (await this.outbox.attemptFailed(ref, Date.now(), `${frame.code}: ${frame.message}`)) {
        this.timeline.markFailed(ref, `${frame.code}: ${frame.message}`);
      }
      this.render();
      this.pumpOutbox();
    } else if (ref === 'subscribe' && (frame.roomId ?? this.options.roomId) === this.options.roomId && (frame.code === 'unavailable' || frame.code === 'rate-limited')) {
      clearTimeout(this.subscribeTimer);
      this.subscribeTimer = setTimeout(() => this.relay.send({ type: 'subscribe', roomId: this.options.roomId, afterSeq: this.timeline.contiguousSeq }), 1_000);
    } else if ((ref === 'ack' || ref === 'read') && frame.code === 'rate-limited') {
      this.acked = 0;
      this.read = 0;
      setTimeout(() => this.scheduleAck(), 1_000);
    } else {
      this.emit('error', frame);
    }
  }

  /** Writes due messages to the relay; a send that got no answer in time counts as a failed attempt first. */
  private pumpOutbox(): void {
    clearTimeout(this.outboxTimer);
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpOnce()
      .catch((error: unknown) => console.warn('outbox', error))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pumpOutbox();
        }
      });
  }

  private async pumpOnce(): Promise<void> {
    // With the socket down nothing is sent and no silence is counted: the reconnect makes everything due again.
    if (this.relay.state !== 'open') return;
    const now = Date.now();
    let pacedUntil: number | undefined;
    for (const pending of this.outbox.due(now)) {
      if (this.outbox.isAwaiting(pending.id)) {
        if (await this.outbox.attemptFailed(pending.id, now, 'no answer from the relay')) {
          this.timeline.markFailed(pending.id, 'no answer from the relay');
          this.render();
        }
      } else if (pacedUntil !== undefined || !this.sendBudget.take(now)) {
        // Over the frame budget: this one and every later one wait, in order, for the budget to refill.
        pacedUntil ??= this.sendBudget.nextAt(now);
      } else if (this.relay.send({ type: 'send', id: pending.id, roomId: pending.roomId, text: pending.text, sentAt: pending.sentAt })) {
        this.outbox.transmitted(pending.id, now);
      }
    }
    // Paced, the messages left are already due: the budget, not their schedule, says when the pump runs again.
    const next = pacedUntil ?? this.outbox.nextDueAt();
    if (next !== undefined) this.outboxTimer = setTimeout(() => this.pumpOutbox(), Math.max(0, next - Date.now()));
  }

  /** Acks (and reads) are cumulative: one frame covers everything up to the contiguous seq. */
  private scheduleAck(): void {
    if (this.ackTimer !== undefined) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      const seq = this.timeline.contiguousSeq;
      if (seq > this.acked && this.relay.send({ type: 'ack', roomId: this.options.roomId, seq })) this.acked = seq;
      const read = Math.min(this.readWanted, seq);
      if (read > this.read && this.relay.send({ type: 'read', roomId: this.options.roomId, seq: read })) this.read = read;
    }, 50);
  }

  /** A seq jump the relay did not fill: fetch the missing messages from history. */
  private checkGap(): void {
    const gap = this.timeline.gap();
    if (!gap || this.fetchingHistory) return;
    this.fetchingHistory = true;
    if (gap.afterSeq !== this.lastGapAfter) this.timeline.gapsSeen++;
    this.lastGapAfter = gap.afterSeq;
    void (async () => {
      try {
        const response = await fetch(`${this.baseUrl}/api/rooms/${encodeURIComponent(this.options.roomId)}/messages?after=${gap.afterSeq}&limit=500`, {
          headers: { Authorization: `Bearer ${await this.currentToken()}` },
        });
        if (!response.ok) throw new Error(`history answered ${response.status}`);
        const page = (await response.json()) as { messages: Omit<StoredMessageFrame, 'type'>[] };
        // Fetched copies are handled like pushed ones; the gap check they trigger waits for this fetch to end.
        for (const message of page.messages) this.onStored({ type: 'message', ...message });
        this.fetchingHistory = false;
        this.checkGap(); // a gap wider than one page takes more pages
      } catch {
        // The relay fills gaps too; otherwise look again shortly.
        this.fetchingHistory = false;
        clearTimeout(this.gapTimer);
        this.gapTimer = setTimeout(() => this.checkGap(), 2_000);
      }
    })();
  }

  private setOnline(online: boolean): void {
    if (online) {
      this.relay.resume();
      this.signaling.resume();
    } else {
      // A browser that knows it is offline closes now, instead of waiting for pings to time out.
      this.mesh.closeAll();
      this.relay.suspend();
      this.signaling.suspend();
    }
    this.emit('connection', this.connectionState);
  }

  private reportTelemetry(): void {
    const duplicatesDropped = this.timeline.duplicatesDropped - this.reported.duplicatesDropped;
    const gaps = this.timeline.gapsSeen - this.reported.gaps;
    if (duplicatesDropped <= 0 && gaps <= 0) return;
    const frame: SignalingClientFrame = {
      type: 'rtc-state',
      roomId: this.options.roomId,
      state: 'stats',
      duplicatesDropped: Math.min(duplicatesDropped, 10_000),
      gaps: Math.min(gaps, 10_000),
    };
    if (this.signaling.send(frame)) {
      this.reported.duplicatesDropped += frame.duplicatesDropped;
      this.reported.gaps += frame.gaps;
    }
  }

  private render(): void {
    if (this.renderTimer !== undefined) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      this.emit('messages', this.timeline.ordered());
    }, 16);
  }

  private async socketUrl(path: string): Promise<string> {
    const token = await this.currentToken();
    return `${this.baseUrl.replace(/^http/, 'ws')}${path}?access_token=${encodeURIComponent(token)}`;
  }

  private async currentToken(): Promise<string> {
    if (this.options.token) return this.options.token();
    if (this.token && this.token.expiresAt - Date.now() > 60_000) return this.token.value;
    const response = await fetch(`${this.baseUrl}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: this.options.user, rooms: [this.options.roomId] }),
    });
    if (!response.ok) throw new Error(`token request failed: ${response.status}`);
    const body = (await response.json()) as { token: string; expiresAt: string };
    this.token = { value: body.token, expiresAt: Date.parse(body.expiresAt) };
    return body.token;
  }

}

/** UUID v7: time-ordered, so ids sort roughly by send time (RFC 9562 §5.7). */
export function newMessageId(now: number = Date.now(), random: Uint8Array = crypto.getRandomValues(new Uint8Array(10))): string {
  const bytes = new Uint8Array(16);
  let time = now;
  for (let index = 5; index >= 0; index--) {
    bytes[index] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes.set(random, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function defaultStorage(): OutboxStorage {
  return typeof indexedDB === 'undefined' ? new MemoryOutboxStorage() : new IndexedDbOutboxStorage();
}
