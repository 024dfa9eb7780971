/**
 * The decisions of the perfect-negotiation pattern (W3C WebRTC §10.7), apart from RTCPeerConnection so they can be
 * tested: both sides may offer at once; the polite side yields to an incoming offer, the impolite side ignores it.
 */
export class Negotiation {
  makingOffer = false;
  ignoreOffer = false;
  private settingRemoteAnswerPending = false;

  constructor(readonly polite: boolean) {}

  /** Whether to apply an incoming description, given the connection's signaling state right now. */
  accept(type: RTCSdpType, signalingState: RTCSignalingState): boolean {
    const readyForOffer = !this.makingOffer && (signalingState === 'stable' || this.settingRemoteAnswerPending);
    const collision = type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    return !this.ignoreOffer;
  }

  /** Brackets setRemoteDescription of an answer, during which an offer is not a collision. */
  applyingAnswer(pending: boolean): void {
    this.settingRemoteAnswerPending = pending;
  }

  /** A failed addIceCandidate is expected (and harmless) for candidates of an offer we ignored. */
  candidateErrorExpected(): boolean {
    return this.ignoreOffer;
  }
}

/** The polite side is the one with the greater client id: both sides compute the same answer without talking. */
export function isPolite(selfClientId: string, peerClientId: string): boolean {
  return selfClientId > peerClientId;
}

/** The DTLS fingerprint of an SDP: a new one means the peer started a new RTCPeerConnection. */
export function fingerprintOf(sdp: string): string | undefined {
  return /^a=fingerprint:(.+)$/m.exec(sdp)?.[1]?.trim();
}

/** The SDP without any ICE candidate, for `?rtc=block`. */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split(/\r\n/)
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}
