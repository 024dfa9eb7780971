import { backoffDelay, type BackoffOptions } from './backoff';

/** A message the user sent that the platform has not stored yet. Persisted, so it survives a reload. */
export interface PendingMessage {
  id: string;
  user: string;
  roomId: string;
  text: string;
  sentAt: number;
  /** Sends written to an open relay socket that got no `accepted` in time. */
  attempts: number;
  accepted: boolean;
  failed: boolean;
  error?: string;
}

export interface OutboxStorage {
  load(user: string, roomId: string): Promise<PendingMessage[]>;
  put(message: PendingMessage): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface OutboxOptions {
  /** How long a send waits for `accepted` before it counts as failed (the relay answers within 5 s). */
  acceptTimeoutMs: number;
  /** Sends without `accepted` before the message is shown failed, with a retry button. */
  maxAttempts: number;
  retry: BackoffOptions;
}

export const defaultOutboxOptions: OutboxOptions = {
  acceptTimeoutMs: 8_000,
  maxAttempts: 8,
  retry: { initialMs: 500, maxMs: 30_000, jitter: 0.5 },
};

interface Schedule {
  /** When to send (again); undefined once accepted or failed. */
  dueAt?: number;
  /** Written to the relay; `dueAt` is when waiting for `accepted` ends. */
  awaiting?: boolean;
}

/**
 * Sends that still need the relay: when each one is due, what an answer or a silence does to it.
 * Time is passed in, so the retry rules are testable without timers.
 */
export class Outbox {
  private readonly pending = new Map<string, PendingMessage>();
  private readonly schedule = new Map<string, Schedule>();

  constructor(
    private readonly storage: OutboxStorage,
    private readonly options: OutboxOptions = defaultOutboxOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The messages left from an earlier page of this user in this room: due at once (same ids, so no duplicates). */
  async restore(user: string, roomId: string, now: number): Promise<PendingMessage[]> {
    const stored = await this.storage.load(user, roomId).catch((error: unknown) => {
      console.warn('outbox: unsent messages of an earlier page could not be read', error);
      return [];
    });
    for (const message of stored) {
      refreshSentAt(message, now);
      this.pending.set(message.id, message);
      this.schedule.set(message.id, { dueAt: message.failed ? undefined : now });
    }
    return stored.sort((a, b) => a.sentAt - b.sentAt);
  }

  async add(message: Omit<PendingMessage, 'attempts' | 'accepted' | 'failed'>, now: number): Promise<PendingMessage> {
    const pending: PendingMessage = { ...message, attempts: 0, accepted: false, failed: false };
    this.pending.set(pending.id, pending);
    this.schedule.set(pending.id, { dueAt: now });
    await this.persist(pending);
    return pending;
  }

  get(id: string): PendingMessage | undefined {
    return this.pending.get(id);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Messages to write to the relay now (or whose wait for `accepted` ran out), oldest first. */
  due(now: number): PendingMessage[] {
    return this.effectiveSchedule()
      .filter(({ dueAt }) => dueAt <= now)
      .map(({ message }) => message);
  }

  /** The earliest time something is due, for the client's timer. */
  nextDueAt(): number | undefined {
    const times = this.effectiveSchedule().map(({ dueAt }) => dueAt);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /**
   * When each message is really due, oldest first. The room's order (seq) follows the order the relay takes sends
   * in, so a message waiting to be sent (again) holds back every later one: after a failure, each message's own
   * backoff (with jitter) would otherwise let a later one go first and be stored above it. A message written and
   * waiting for `accepted` holds nothing back (it is on the wire, in order), and neither does one shown failed
   * (only the user's retry sends it again).
   */
  private effectiveSchedule(): { message: PendingMessage; dueAt: number }[] {
    const waiting = [...this.pending.values()]
      .filter((message) => this.schedule.get(message.id)?.dueAt !== undefined)
      .sort((a, b) => a.sentAt - b.sentAt);
    let heldUntil = Number.NEGATIVE_INFINITY;
    return waiting.map((message) => {
      const schedule = this.schedule.get(message.id) as Schedule & { dueAt: number };
      if (schedule.awaiting) return { message, dueAt: schedule.dueAt };
      const dueAt = Math.max(schedule.dueAt, heldUntil);
      heldUntil = dueAt;
      return { message, dueAt };
    });
  }

  /** The send was written to an open socket: wait for `accepted`, else it counts as a failed attempt. */
  transmitted(id: string, now: number): void {
    const schedule = this.schedule.get(id);
    if (!schedule) return;
    schedule.dueAt = now + this.options.acceptTimeoutMs;
    schedule.awaiting = true;
  }

  /** Written and not answered yet: when it comes due, the silence counts as a failed attempt. */
  isAwaiting(id: string): boolean {
    return this.schedule.get(id)?.awaiting === true;
  }

  /** Called when `transmitted`'s wait ran out or the relay said `unavailable`. Returns true when retries ran out. */
  async attemptFailed(id: string, now: number, error: string): Promise<boolean> {
    const message = this.pending.get(id);
    const schedule = this.schedule.get(id);
    if (!message || !schedule || message.accepted || message.failed) return false;
    message.attempts++;
    schedule.awaiting = false;
    if (message.attempts >= this.options.maxAttempts) {
      message.failed = true;
      message.error = error;
      schedule.dueAt = undefined;
    } else {
      schedule.dueAt = now + backoffDelay(message.attempts - 1, this.options.retry, this.random);
    }
    await this.persist(message);
    return message.failed;
  }

  /** A refusal that no retry can fix (invalid, too-large, forbidden, id-conflict). */
  async refuse(id: string, error: string): Promise<void> {
    const message = this.pending.get(id);
    if (!message) return;
    message.failed = true;
    message.error = error;
    this.schedule.set(id, {});
    await this.persist(message);
  }

  /** RabbitMQ has it: it will be stored, so no more sends this session (a reload sends it once more, harmlessly). */
  async accepted(id: string): Promise<void> {
    const message = this.pending.get(id);
    if (!message || message.accepted) return;
    message.accepted = true;
    this.schedule.set(id, {});
    await this.persist(message);
  }

  /** The relay socket (re)opened: whatever waits for an answer or a retry goes now, without counting an attempt. */
  reconnected(now: number): void {
    for (const [id, schedule] of this.schedule) {
      const message = this.pending.get(id);
      if (message && !message.accepted && !message.failed) {
        schedule.dueAt = now;
        schedule.awaiting = false;
      }
    }
  }

  /** The user pressed retry on a failed message. */
  async retry(id: string, now: number): Promise<PendingMessage | undefined> {
    const message = this.pending.get(id);
    if (!message?.failed) return undefined;
    message.failed = false;
    message.attempts = 0;
    message.error = undefined;
    refreshSentAt(message, now);
    this.schedule.set(id, { dueAt: now });
    await this.persist(message);
    return message;
  }

  /** Its stored copy came back with a seq: done. */
  async stored(id: string): Promise<void> {
    if (!this.pending.delete(id)) return;
    this.schedule.delete(id);
    await this.storage.remove(id).catch((error: unknown) => console.warn('outbox: a sent message could not be removed', error));
  }

  /** The outbox works on in memory when storage fails (quota, a private mode): only a reload would lose it. */
  private async persist(message: PendingMessage): Promise<void> {
    await this.storage.put(message).catch((error: unknown) => console.warn('outbox: a message could not be saved', error));
  }
}

/** The relay refuses a sentAt more than 24 h from its clock: a message that waited that long goes with a new one. */
function refreshSentAt(message: PendingMessage, now: number): void {
  if (now - message.sentAt > 23 * 3_600_000) message.sentAt = now;
}

/** The outbox in IndexedDB: one record per pending message, keyed by id. */
export class IndexedDbOutboxStorage implements OutboxStorage {
  private database?: Promise<IDBDatabase>;

  constructor(
    private readonly name = 'chatplatform',
    private readonly factory: IDBFactory = indexedDB,
  ) {}

  async load(user: string, roomId: string): Promise<PendingMessage[]> {
    const all = await this.request<PendingMessage[]>('readonly', (store) => store.getAll());
    return all.filter((message) => message.user === user && message.roomId === roomId);
  }

  async put(message: PendingMessage): Promise<void> {
    await this.request('readwrite', (store) => store.put(message));
  }

  async remove(id: string): Promise<void> {
    await this.request('readwrite', (store) => store.delete(id));
  }

  private open(): Promise<IDBDatabase> {
    this.database ??= new Promise((resolve, reject) => {
      const request = this.factory.open(this.name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore('outbox', { keyPath: 'id' });
      request.onsuccess = () => {
        // The browser may close the database (storage cleared, an upgrade elsewhere): open it again next time.
        request.result.onclose = () => (this.database = undefined);
        resolve(request.result);
      };
      request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
    });
    return this.database;
  }

  private async request<T>(mode: IDBTransactionMode, operation: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const database = await this.open();
    return new Promise<T>((resolve, reject) => {
      const transaction = database.transaction('outbox', mode);
      const request = operation(transaction.objectStore('outbox'));
      transaction.oncomplete = () => resolve(request.result as T);
      transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB request failed'));
      transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
    });
  }
}

/** For pages where IndexedDB is unavailable (private modes of some browsers): pending messages live in memory. */
export class MemoryOutboxStorage implements OutboxStorage {
  private readonly messages = new Map<string, PendingMessage>();

  load(user: string, roomId: string): Promise<PendingMessage[]> {
    return Promise.resolve([...this.messages.values()].filter((message) => message.user === user && message.roomId === roomId).map((message) => ({ ...message })));
  }

  put(message: PendingMessage): Promise<void> {
    this.messages.set(message.id, { ...message });
    return Promise.resolve();
  }

  remove(id: string): Promise<void> {
    this.messages.delete(id);
    return Promise.resolve();
  }
}
