import { backoffDelay, type BackoffOptions } from './backoff';
import { fingerprintOf, isPolite, Negotiation, withoutCandidates } from './negotiation';
import {
  readPeerFrame,
  type FallbackReason,
  type PeerInfo,
  type PeerMessageFrame,
  type RtcReportedState,
  type SignalingClientFrame,
} from './protocol';

export type PeerPath = 'connecting' | 'p2p' | 'relay';

export interface PeerLinkOptions {
  selfClientId: string;
  peer: PeerInfo;
  roomId: string;
  iceServers: RTCIceServer[];
  /** `?rtc=block`: drop every ICE candidate, so no data channel can open and everything goes by the relay. */
  blockIce: boolean;
  /** A data channel not open by then counts as a fallback to the relay (the brief's 3–5 s). */
  connectTimeoutMs: number;
  /** Waits between attempts after a failure. */
  retry: BackoffOptions;
  signal(frame: SignalingClientFrame): void;
  onMessage(frame: PeerMessageFrame, fromUser: string): void;
  onPath(path: PeerPath): void;
  report(state: RtcReportedState, details: { handshakeMs?: number; reason?: FallbackReason }): void;
}

/**
 * One RTCPeerConnection and its data channel to one peer, with perfect negotiation, a connect timeout and retries.
 * Only the impolite side starts a retry; the polite side answers it by starting a new connection when an offer comes
 * with a new DTLS fingerprint, so the two never race to replace each other's connection.
 */
export class PeerLink {
  path: PeerPath = 'connecting';
  /** From the start of the last connection attempt to its data channel opening, when it opened. */
  handshakeMs?: number;
  private connection?: RTCPeerConnection;
  private channel?: RTCDataChannel;
  private negotiation: Negotiation;
  /** The fingerprint of the last description the peer sent: which of its connections it is talking from. */
  private latestRemoteFingerprint?: string;
  private startedAt = 0;
  private connectTimer?: ReturnType<typeof setTimeout>;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private failures = 0;
  private closed = false;
  private work: Promise<void> = Promise.resolve();
  readonly polite: boolean;

  constructor(private readonly options: PeerLinkOptions) {
    this.polite = isPolite(options.selfClientId, options.peer.clientId);
    this.negotiation = new Negotiation(this.polite);
  }

  get peer(): PeerInfo {
    return this.options.peer;
  }

  start(): void {
    this.openSession();
  }

  /** Writes to the data channel if it is open; the relay carries the message either way. */
  send(frame: PeerMessageFrame): boolean {
    const channel = this.channel;
    if (channel?.readyState !== 'open') return false;
    try {
      channel.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  handleDescription(type: 'offer' | 'answer', sdp: string): void {
    if (this.closed) return;
    const fingerprint = fingerprintOf(sdp);
    if (type === 'offer' && (!this.connection || (this.latestRemoteFingerprint && fingerprint !== this.latestRemoteFingerprint))) {
      // The peer started a new connection (first contact, or its retry after a failure): follow it. Decided here, not
      // in the queue, so the offer and the candidates after it go to the new connection's queue together.
      this.openSession();
    }
    this.latestRemoteFingerprint = fingerprint;
    const connection = this.connection;
    if (!connection) return;
    this.enqueue(connection, async () => {
      // An answer is only expected while our offer is out; a late or repeated one would fail a working connection.
      if (type === 'answer' && connection.signalingState !== 'have-local-offer') return;
      if (!this.negotiation.accept(type, connection.signalingState)) return;
      this.negotiation.applyingAnswer(type === 'answer');
      try {
        await connection.setRemoteDescription({ type, sdp: this.options.blockIce ? withoutCandidates(sdp) : sdp });
      } finally {
        this.negotiation.applyingAnswer(false);
      }
      if (type === 'offer') {
        await connection.setLocalDescription();
        this.signalDescription(connection);
      }
    });
  }

  handleCandidate(candidate: RTCIceCandidateInit): void {
    if (this.options.blockIce) return;
    const connection = this.connection;
    if (!connection || this.closed) return;
    this.enqueue(connection, async () => {
      try {
        await connection.addIceCandidate(candidate);
      } catch (error) {
        // Candidates of an ignored offer or of a connection already replaced are expected to fail.
        if (!this.negotiation.candidateErrorExpected() && connection.remoteDescription) console.debug('ICE candidate refused', error);
      }
    });
  }

  /** Closes the data channel as a network failure would: for tests and diagnosis. */
  dropChannel(): void {
    this.channel?.close();
  }

  close(): void {
    if (this.closed) return;
    const wasOpen = this.path === 'p2p';
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.endSession();
    if (wasOpen) this.options.report('closed', {});
  }

  /**
   * Runs negotiation steps of one connection one after another. A closed connection may leave a step waiting forever
   * (w3c/webrtc-pc#2973), so each connection has its own queue and a new connection never waits behind an old one.
   */
  private enqueue(connection: RTCPeerConnection, task: () => Promise<void>): void {
    this.work = this.work
      .then(() => (this.connection === connection ? task() : undefined))
      .catch((error: unknown) => {
        if (!this.closed && this.connection === connection) this.fail('error', error);
      });
  }

  private openSession(): void {
    this.endSession();
    clearTimeout(this.retryTimer);
    const connection = new RTCPeerConnection({ iceServers: this.options.iceServers });
    const channel = connection.createDataChannel('chat', { negotiated: true, id: 0, ordered: true });
    this.connection = connection;
    this.channel = channel;
    this.negotiation = new Negotiation(this.polite);
    this.latestRemoteFingerprint = undefined;
    this.work = Promise.resolve();
    this.startedAt = performance.now();
    this.setPath(this.failures > 0 ? 'relay' : 'connecting');

    connection.onnegotiationneeded = () => {
      this.enqueue(connection, async () => {
        // The data channel is the only thing ever negotiated: once the peer's description is in, nothing is left.
        if (connection.currentRemoteDescription || connection.pendingRemoteDescription) return;
        this.negotiation.makingOffer = true;
        try {
          await connection.setLocalDescription();
          this.signalDescription(connection);
        } finally {
          this.negotiation.makingOffer = false;
        }
      });
    };
    connection.onicecandidate = ({ candidate }) => {
      if (!candidate || this.options.blockIce || this.connection !== connection) return;
      this.options.signal({ type: 'ice', to: this.options.peer.clientId, roomId: this.options.roomId, candidate: candidate.toJSON() });
    };
    connection.onconnectionstatechange = () => {
      if (this.connection === connection && connection.connectionState === 'failed') this.fail('ice-failed');
    };
    channel.onopen = () => {
      if (this.connection !== connection) return;
      clearTimeout(this.connectTimer);
      this.failures = 0;
      this.handshakeMs = Math.round(performance.now() - this.startedAt);
      this.setPath('p2p');
      this.options.report('connected', { handshakeMs: this.handshakeMs });
    };
    channel.onclose = () => {
      if (this.connection === connection && !this.closed) this.fail('closed');
    };
    channel.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      const frame = readPeerFrame(event.data);
      if (frame && frame.roomId === this.options.roomId) this.options.onMessage(frame, this.options.peer.user);
    };
    this.connectTimer = setTimeout(() => {
      if (this.connection === connection && channel.readyState !== 'open') this.fail(this.options.blockIce ? 'blocked' : 'timeout');
    }, this.options.connectTimeoutMs);
  }

  private signalDescription(connection: RTCPeerConnection): void {
    const local = connection.localDescription;
    if (!local || (local.type !== 'offer' && local.type !== 'answer') || this.connection !== connection) return;
    const sdp = this.options.blockIce ? withoutCandidates(local.sdp) : local.sdp;
    this.options.signal({ type: local.type, to: this.options.peer.clientId, roomId: this.options.roomId, sdp });
  }

  /** The relay carries everything from here; the impolite side tries a new connection after a backoff. */
  private fail(reason: FallbackReason, error?: unknown): void {
    if (error) console.debug('peer connection failed', error);
    this.endSession();
    clearTimeout(this.retryTimer);
    this.failures++;
    this.setPath('relay');
    this.options.report('fallback', { reason });
    if (!this.polite && !this.closed) {
      this.retryTimer = setTimeout(() => this.openSession(), backoffDelay(this.failures - 1, this.options.retry));
    }
  }

  private endSession(): void {
    clearTimeout(this.connectTimer);
    const connection = this.connection;
    const channel = this.channel;
    this.connection = undefined;
    this.channel = undefined;
    if (channel) {
      channel.onopen = channel.onclose = channel.onmessage = null;
      channel.close();
    }
    if (connection) {
      connection.onnegotiationneeded = connection.onicecandidate = connection.onconnectionstatechange = null;
      connection.close();
    }
  }

  private setPath(path: PeerPath): void {
    if (this.path === path) return;
    this.path = path;
    this.options.onPath(path);
  }
}
