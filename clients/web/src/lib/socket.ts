import { backoffDelay, type BackoffOptions } from './backoff';
import { Emitter } from './events';

export type SocketState = 'connecting' | 'open' | 'closed';

export interface SocketOptions {
  /** Builds the URL for each attempt, so an expired token can be renewed before reconnecting. */
  url: () => Promise<string>;
  reconnect: BackoffOptions;
  /** How often the client pings; a socket that does not answer within `pongTimeoutMs` is treated as dead. */
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

export interface SocketEvents {
  open: undefined;
  frame: string;
  close: { code: number; reason: string };
}

/**
 * A WebSocket that reconnects with backoff and jitter and notices a dead connection by its own pings: a browser can
 * keep a socket "open" for minutes after the network went away.
 */
export class ReconnectingSocket<OutgoingFrame extends object> extends Emitter<SocketEvents> {
  private socket?: WebSocket;
  private attempt = 0;
  private running = false;
  private suspended = false;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private lastHeard = 0;

  constructor(private readonly options: SocketOptions) {
    super();
  }

  get state(): SocketState {
    if (this.socket?.readyState === WebSocket.OPEN) return 'open';
    return this.running && !this.suspended ? 'connecting' : 'closed';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.drop(1000, 'client closed');
  }

  /** The browser is offline: close now and wait for `resume` instead of retrying into nothing. */
  suspend(): void {
    this.suspended = true;
    this.drop(1000, 'offline');
  }

  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    this.attempt = 0;
    if (this.running) void this.connect();
  }

  /** Drops the connection as a network failure would and reconnects: for tests and diagnosis. */
  interrupt(): void {
    this.drop(4000, 'interrupted');
    this.scheduleReconnect();
  }

  send(frame: OutgoingFrame | { type: 'ping' }): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private async connect(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    if (!this.running || this.suspended || this.socket) return;
    let url: string;
    try {
      url = await this.options.url();
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (!this.running || this.suspended || this.socket) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.startPings();
      this.emit('open', undefined);
    };
    socket.onmessage = (event: MessageEvent) => {
      this.lastHeard = Date.now();
      if (typeof event.data === 'string') this.emit('frame', event.data);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.stopPings();
      this.emit('close', { code: event.code, reason: event.reason });
      this.scheduleReconnect(event.code === 1001 ? 0 : undefined);
    };
  }

  private scheduleReconnect(delayMs?: number): void {
    if (!this.running || this.suspended) return;
    clearTimeout(this.reconnectTimer);
    const delay = delayMs ?? backoffDelay(this.attempt++, this.options.reconnect);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private drop(code: number, reason: string): void {
    clearTimeout(this.reconnectTimer);
    this.stopPings();
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.onclose = null;
    socket.onmessage = null;
    socket.close(code, reason);
    this.emit('close', { code, reason });
  }

  private startPings(): void {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > this.options.pingIntervalMs + this.options.pongTimeoutMs) {
        this.drop(4000, 'no pong');
        this.scheduleReconnect();
        return;
      }
      this.send({ type: 'ping' });
    }, this.options.pingIntervalMs);
  }

  private stopPings(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }
}
