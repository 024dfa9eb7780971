import type { BackoffOptions } from './backoff';
import { Emitter } from './events';
import { PeerLink, type PeerPath } from './peer-link';
import type { PeerInfo, PeerMessageFrame, SignalingClientFrame, SignalingServerFrame } from './protocol';

export interface PeerView {
  clientId: string;
  user: string;
  path: PeerPath;
  /** How long the data channel took to open, from the moment this client learned of the peer. */
  handshakeMs?: number;
}

export interface PeerMeshOptions {
  roomId: string;
  blockIce: boolean;
  connectTimeoutMs: number;
  retry: BackoffOptions;
  signal(frame: SignalingClientFrame): void;
}

export interface PeerMeshEvents {
  peers: PeerView[];
  message: { frame: PeerMessageFrame; from: string };
}

/** Every peer of one room and the link to each: who is there, by which path, and writing to all open channels. */
export class PeerMesh extends Emitter<PeerMeshEvents> {
  private readonly links = new Map<string, PeerLink>();
  private selfClientId?: string;
  private iceServers: RTCIceServer[] = [];

  constructor(private readonly options: PeerMeshOptions) {
    super();
  }

  /** A new signaling session (a new client id): links of the old one are gone for the peers too. */
  welcome(clientId: string, iceServers: RTCIceServer[]): void {
    this.closeAll();
    this.selfClientId = clientId;
    this.iceServers = iceServers;
  }

  handle(frame: SignalingServerFrame): void {
    if (!('roomId' in frame) || frame.roomId !== this.options.roomId) return;
    switch (frame.type) {
      case 'joined':
        for (const peer of frame.peers) this.add(peer);
        break;
      case 'peer-joined':
        this.add(frame.peer);
        break;
      case 'peer-left':
        this.remove(frame.clientId);
        break;
      case 'offer':
      case 'answer':
        this.links.get(frame.from)?.handleDescription(frame.type, frame.sdp);
        break;
      case 'ice':
        this.links.get(frame.from)?.handleCandidate(frame.candidate);
        break;
      default:
        break;
    }
  }

  /** Writes the message to every open data channel; returns how many peers it went to. */
  broadcast(frame: PeerMessageFrame): number {
    let written = 0;
    for (const link of this.links.values()) if (link.send(frame)) written++;
    return written;
  }

  views(): PeerView[] {
    return [...this.links.values()].map((link) => ({
      clientId: link.peer.clientId,
      user: link.peer.user,
      path: link.path,
      ...(link.handshakeMs === undefined ? {} : { handshakeMs: link.handshakeMs }),
    }));
  }

  /** Closes every data channel, as a network failure would: for tests and diagnosis. */
  dropChannels(): void {
    for (const link of this.links.values()) link.dropChannel();
  }

  closeAll(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.changed();
  }

  private add(peer: PeerInfo): void {
    if (!this.selfClientId || peer.clientId === this.selfClientId || this.links.has(peer.clientId)) return;
    const link = new PeerLink({
      selfClientId: this.selfClientId,
      peer,
      roomId: this.options.roomId,
      iceServers: this.iceServers,
      blockIce: this.options.blockIce,
      connectTimeoutMs: this.options.connectTimeoutMs,
      retry: this.options.retry,
      signal: (frame) => this.options.signal(frame),
      onMessage: (frame, from) => this.emit('message', { frame, from }),
      onPath: () => this.changed(),
      report: (state, details) => this.options.signal({ type: 'rtc-state', peer: peer.clientId, roomId: this.options.roomId, state, ...details }),
    });
    this.links.set(peer.clientId, link);
    link.start();
    this.changed();
  }

  private remove(clientId: string): void {
    const link = this.links.get(clientId);
    if (!link) return;
    this.links.delete(clientId);
    link.close();
    this.changed();
  }

  private changed(): void {
    this.emit('peers', this.views());
  }
}
