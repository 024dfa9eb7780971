import type { PeerMessageFrame, StoredMessageFrame } from './protocol';

export type MessageStatus = 'sending' | 'accepted' | 'stored' | 'delivered' | 'read' | 'failed';
export type MessagePath = 'p2p' | 'relay';

export interface TimelineMessage {
  id: string;
  roomId: string;
  from: string;
  text: string;
  sentAt: number;
  /** The room's order, given by Delivery when it stored the message; absent until then. */
  seq?: number;
  storedAt?: number;
  status: MessageStatus;
  /** The path that brought the first copy; the sender's own messages count as relay. */
  path: MessagePath;
  own: boolean;
  /** When this browser first had it (Unix ms): with `sentAt`, the latency as the user saw it. */
  receivedAt: number;
  /** Why a message failed, for the UI. */
  error?: string;
}

export type ArrivalResult = 'added' | 'confirmed' | 'duplicate';

export interface Gap {
  afterSeq: number;
  beforeSeq: number;
}

interface Cursor {
  delivered: number;
  read: number;
}

const statusRank: Record<MessageStatus, number> = { failed: 0, sending: 0, accepted: 1, stored: 2, delivered: 3, read: 4 };

/**
 * One room's messages as the user sees them: deduplicated by id, ordered by seq, with messages that have no seq yet
 * (own messages on their way, data-channel arrivals) placed after the stored ones by send time until their seq comes.
 * Pure: no I/O, so the rules can be tested on their own.
 */
export class Timeline {
  private readonly byId = new Map<string, TimelineMessage>();
  private readonly seqs = new Set<number>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly members = new Set<string>();
  /** Stored messages not yet read by everyone: the only ones a receipt can still move. */
  private readonly unsettled = new Set<TimelineMessage>();
  private contiguous = 0;
  private highest = 0;
  duplicatesDropped = 0;
  gapsSeen = 0;

  constructor(
    readonly roomId: string,
    readonly self: string,
    private readonly now: () => number = Date.now,
  ) {
    this.members.add(self);
  }

  /** Every seq up to this one is here: what to acknowledge and where to resume. */
  get contiguousSeq(): number {
    return this.contiguous;
  }

  /** Where a replay started: messages at or below it are not expected (the client resumed after them). */
  startAt(seq: number): void {
    if (seq > this.contiguous) this.contiguous = seq;
  }

  get(id: string): TimelineMessage | undefined {
    return this.byId.get(id);
  }

  addOwn(id: string, text: string, sentAt: number, status: MessageStatus = 'sending'): TimelineMessage {
    const existing = this.byId.get(id);
    if (existing) return existing;
    const message: TimelineMessage = { id, roomId: this.roomId, from: this.self, text, sentAt, status, path: 'relay', own: true, receivedAt: sentAt };
    this.byId.set(id, message);
    return message;
  }

  /** A copy from a peer's data channel. `from` is the peer's signaled user, not what the frame claims. */
  receiveFromPeer(frame: PeerMessageFrame, from: string): ArrivalResult {
    if (this.byId.has(frame.id)) {
      this.duplicatesDropped++;
      return 'duplicate';
    }
    this.byId.set(frame.id, {
      id: frame.id,
      roomId: this.roomId,
      from,
      text: frame.text,
      sentAt: frame.sentAt,
      status: 'accepted',
      path: 'p2p',
      own: false,
      receivedAt: this.now(),
    });
    return 'added';
  }

  /** A stored copy from the relay (live, replayed or fetched): it carries the seq that places it for good. */
  receiveStored(frame: StoredMessageFrame): ArrivalResult {
    if (frame.seq <= 0) return 'duplicate';
    const existing = this.byId.get(frame.id);
    if (existing?.seq !== undefined || (existing === undefined && this.seqs.has(frame.seq))) {
      this.duplicatesDropped++;
      return 'duplicate';
    }
    let result: ArrivalResult;
    if (existing) {
      // The stored copy is what everyone sees: a peer cannot show one text over the data channel and store another.
      existing.text = frame.text;
      existing.from = frame.from;
      existing.sentAt = frame.sentAt;
      existing.seq = frame.seq;
      existing.storedAt = frame.storedAt;
      existing.error = undefined;
      if (existing.status === 'failed') existing.status = 'stored';
      this.raise(existing, 'stored');
      result = 'confirmed';
    } else {
      this.byId.set(frame.id, {
        id: frame.id,
        roomId: this.roomId,
        from: frame.from,
        text: frame.text,
        sentAt: frame.sentAt,
        seq: frame.seq,
        storedAt: frame.storedAt,
        status: 'stored',
        path: 'relay',
        own: frame.from === this.self,
        receivedAt: this.now(),
      });
      result = 'added';
    }
    this.seqs.add(frame.seq);
    this.members.add(frame.from);
    if (frame.seq > this.highest) this.highest = frame.seq;
    while (this.seqs.has(this.contiguous + 1)) this.contiguous++;
    this.refreshStatus(this.byId.get(frame.id)!);
    return result;
  }

  /** The seqs that are missing below the highest one seen, if any: the client fetches them from history. */
  gap(): Gap | undefined {
    return this.highest > this.contiguous ? { afterSeq: this.contiguous, beforeSeq: this.firstSeqAbove(this.contiguous) } : undefined;
  }

  private firstSeqAbove(seq: number): number {
    let first = this.highest + 1;
    for (const candidate of this.seqs) if (candidate > seq && candidate < first) first = candidate;
    return first;
  }

  markAccepted(id: string): void {
    const message = this.byId.get(id);
    if (message) this.raise(message, 'accepted');
  }

  /** `afterAccepted`: a refusal that comes after the broker took the message (id-conflict). */
  markFailed(id: string, error: string, afterAccepted = false): void {
    const message = this.byId.get(id);
    if (message && message.seq === undefined && (message.status !== 'accepted' || afterAccepted)) {
      message.status = 'failed';
      message.error = error;
    }
  }

  markSending(id: string): void {
    const message = this.byId.get(id);
    if (message?.status === 'failed') {
      message.status = 'sending';
      message.error = undefined;
    }
  }

  remove(id: string): void {
    const message = this.byId.get(id);
    if (message && message.seq === undefined) this.byId.delete(id);
  }

  /** Someone is in the room (present on signaling): their cursors count for "delivered" from now on. */
  addMember(user: string): void {
    if (this.members.has(user)) return;
    this.members.add(user);
    this.refreshAll();
  }

  applyReceipt(user: string, delivered: number, read: number): void {
    const cursor = this.cursors.get(user) ?? { delivered: 0, read: 0 };
    cursor.delivered = Math.max(cursor.delivered, delivered, read);
    cursor.read = Math.max(cursor.read, read);
    this.cursors.set(user, cursor);
    this.members.add(user);
    this.refreshAll();
  }

  /** Stored messages by seq, then the ones without a seq yet by send time. */
  ordered(): TimelineMessage[] {
    const all = [...this.byId.values()];
    const stored = all.filter((message) => message.seq !== undefined).sort((a, b) => a.seq! - b.seq!);
    const provisional = all
      .filter((message) => message.seq === undefined)
      .sort((a, b) => a.sentAt - b.sentAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return [...stored, ...provisional];
  }

  private refreshAll(): void {
    for (const message of this.unsettled) this.refreshStatus(message);
  }

  /** delivered / read: every member other than the author has its cursor at or past the message's seq. */
  private refreshStatus(message: TimelineMessage): void {
    if (message.seq === undefined) return;
    const others = [...this.members].filter((user) => user !== message.from);
    if (others.length > 0) {
      const cursors = others.map((user) => this.cursors.get(user) ?? { delivered: 0, read: 0 });
      if (cursors.every((cursor) => cursor.read >= message.seq!)) this.raise(message, 'read');
      else if (cursors.every((cursor) => cursor.delivered >= message.seq!)) this.raise(message, 'delivered');
    }
    if (message.status === 'read') this.unsettled.delete(message);
    else this.unsettled.add(message);
  }

  private raise(message: TimelineMessage, status: MessageStatus): void {
    if (statusRank[status] > statusRank[message.status]) message.status = status;
  }
}
