// Frames of docs/protocol.md, as the browser sees them. Server frames are parsed from untrusted JSON: the
// readers below check the fields the client relies on and drop anything else.

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  ref?: string;
  /** The room a refused subscribe was for. */
  roomId?: string;
}

/** A stored message as the relay pushes it: the data-channel copy plus the room's seq. */
export interface StoredMessageFrame extends PeerMessageFrame {
  seq: number;
  storedAt: number;
}

export interface ReceiptFrame {
  type: 'receipt';
  roomId: string;
  user: string;
  delivered: number;
  read: number;
}

export type RelayServerFrame =
  | { type: 'welcome'; clientId: string; user: string; limits?: unknown }
  | { type: 'subscribed'; roomId: string; lastSeq: number }
  | { type: 'unsubscribed'; roomId: string }
  | { type: 'accepted'; id: string; roomId: string }
  | StoredMessageFrame
  | ReceiptFrame
  | { type: 'pong' }
  | ErrorFrame;

export type RelayClientFrame =
  | { type: 'subscribe'; roomId: string; afterSeq: number }
  | { type: 'unsubscribe'; roomId: string }
  | { type: 'send'; id: string; roomId: string; text: string; sentAt: number }
  | { type: 'ack' | 'read'; roomId: string; seq: number }
  | { type: 'ping' };

export interface PeerInfo {
  clientId: string;
  user: string;
}

export type SessionDescriptionFrame = { type: 'offer' | 'answer'; from: string; roomId: string; sdp: string };
export type IceFrame = { type: 'ice'; from: string; roomId: string; candidate: RTCIceCandidateInit };

export type SignalingServerFrame =
  | { type: 'welcome'; clientId: string; user: string; iceServers: RTCIceServer[] }
  | { type: 'joined'; roomId: string; peers: PeerInfo[] }
  | { type: 'peer-joined'; roomId: string; peer: PeerInfo }
  | { type: 'peer-left'; roomId: string; clientId: string }
  | SessionDescriptionFrame
  | IceFrame
  | { type: 'pong' }
  | ErrorFrame;

export type RtcReportedState = 'connected' | 'failed' | 'closed' | 'fallback';
export type FallbackReason = 'timeout' | 'ice-failed' | 'blocked' | 'closed' | 'error';

export type SignalingClientFrame =
  | { type: 'join' | 'leave'; roomId: string }
  | { type: 'offer' | 'answer'; to: string; roomId: string; sdp: string }
  | { type: 'ice'; to: string; roomId: string; candidate: RTCIceCandidateInit }
  | {
      type: 'rtc-state';
      peer: string;
      roomId: string;
      state: RtcReportedState;
      handshakeMs?: number;
      reason?: FallbackReason;
    }
  | { type: 'rtc-state'; roomId: string; state: 'stats'; duplicatesDropped: number; gaps: number }
  | { type: 'ping' };

/** What one browser writes to another over the data channel: the message before it has a seq. */
export interface PeerMessageFrame {
  type: 'message';
  id: string;
  roomId: string;
  from: string;
  text: string;
  sentAt: number;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isWholeNumber = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

export function parseJson(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isMessageBody(frame: Json): boolean {
  return (
    isString(frame.id) && isString(frame.roomId) && isString(frame.from) && isString(frame.text) && typeof frame.sentAt === 'number'
  );
}

const always = () => true;

/** Per frame type, what must hold for the client to use it; a type not listed is dropped. */
type FrameChecks = Record<string, (frame: Json) => boolean>;

const relayChecks: FrameChecks = {
  message: (frame) => isMessageBody(frame) && isWholeNumber(frame.seq),
  receipt: (frame) => isString(frame.roomId) && isString(frame.user) && isWholeNumber(frame.delivered) && isWholeNumber(frame.read),
  accepted: (frame) => isString(frame.id) && isString(frame.roomId),
  subscribed: (frame) => isString(frame.roomId) && isWholeNumber(frame.lastSeq),
  welcome: always,
  unsubscribed: always,
  pong: always,
  error: always,
};

const signalingChecks: FrameChecks = {
  offer: (frame) => isString(frame.from) && isString(frame.roomId) && isString(frame.sdp),
  answer: (frame) => isString(frame.from) && isString(frame.roomId) && isString(frame.sdp),
  ice: (frame) => isString(frame.from) && isString(frame.roomId) && isObject(frame.candidate),
  joined: (frame) => isString(frame.roomId) && Array.isArray(frame.peers),
  'peer-joined': (frame) => isString(frame.roomId) && isObject(frame.peer),
  'peer-left': (frame) => isString(frame.roomId) && isString(frame.clientId),
  welcome: (frame) => isString(frame.clientId),
  pong: always,
  error: always,
};

function readFrame<Frame>(text: string, checks: FrameChecks): Frame | undefined {
  const frame = parseJson(text);
  if (!frame || !isString(frame.type)) return undefined;
  const check = Object.hasOwn(checks, frame.type) ? checks[frame.type] : undefined;
  return check?.(frame) ? (frame as unknown as Frame) : undefined;
}

export function readRelayFrame(text: string): RelayServerFrame | undefined {
  return readFrame<RelayServerFrame>(text, relayChecks);
}

export function readSignalingFrame(text: string): SignalingServerFrame | undefined {
  return readFrame<SignalingServerFrame>(text, signalingChecks);
}

/** A data-channel frame from a peer; `from` is not trusted and is replaced by the peer's signaled user. */
export function readPeerFrame(text: string, now: number = Date.now()): PeerMessageFrame | undefined {
  const frame = parseJson(text);
  if (!frame || frame.type !== 'message' || !isMessageBody(frame)) return undefined;
  const candidate = frame as unknown as PeerMessageFrame;
  const sentAtPlausible = Number.isSafeInteger(candidate.sentAt) && Math.abs(candidate.sentAt - now) <= 24 * 3_600_000;
  return candidate.text.length >= 1 && candidate.text.length <= 4000 && sentAtPlausible ? candidate : undefined;
}
