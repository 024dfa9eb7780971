// The client library's public surface. No UI code lives under src/lib.
export { ChatClient, newMessageId, type ChatClientEvents, type ChatClientOptions, type ConnectionState } from './client';
export type { PeerView } from './peer-mesh';
export type { PeerPath } from './peer-link';
export type { MessagePath, MessageStatus, TimelineMessage } from './timeline';
export { IndexedDbOutboxStorage, MemoryOutboxStorage, type OutboxOptions, type OutboxStorage, type PendingMessage } from './outbox';
export type { BackoffOptions } from './backoff';
