import type { ConnectionState, PeerView, TimelineMessage } from '../lib';

const statusLabels: Record<TimelineMessage['status'], string> = {
  sending: 'sending…',
  accepted: 'sent',
  stored: 'stored',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
};

const connectionLabels: Record<ConnectionState, string> = { online: 'online', reconnecting: 'reconnecting…', offline: 'offline' };

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** Keyed rendering: each message keeps its element, so a status change does not rebuild the list. */
const elements = new WeakMap<HTMLElement, Map<string, HTMLLIElement>>();

export function renderMessages(list: HTMLOListElement, messages: TimelineMessage[], retry: (id: string) => void): void {
  let byId = elements.get(list);
  if (!byId) {
    byId = new Map();
    elements.set(list, byId);
  }
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const wanted = new Set(messages.map((message) => message.id));
  for (const [id, item] of byId) {
    if (!wanted.has(id)) {
      item.remove();
      byId.delete(id);
    }
  }
  let previous: Element | null = null;
  for (const message of messages) {
    let item = byId.get(message.id);
    if (!item) {
      item = createItem(message, retry);
      byId.set(message.id, item);
    }
    updateItem(item, message);
    const expectedPosition: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
    if (expectedPosition !== item) list.insertBefore(item, expectedPosition);
    previous = item;
  }
  if (nearBottom) list.scrollTop = list.scrollHeight;
}

function createItem(message: TimelineMessage, retry: (id: string) => void): HTMLLIElement {
  const item = document.createElement('li');
  item.className = message.own ? 'message own' : 'message';
  item.dataset.testid = 'message';
  item.dataset.id = message.id;
  const from = document.createElement('div');
  from.className = 'from';
  from.textContent = message.from;
  // Text is set as text, never as HTML: a message cannot inject markup or script.
  const text = document.createElement('div');
  text.className = 'text';
  text.dataset.testid = 'message-text';
  text.textContent = message.text;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const time = document.createElement('time');
  time.dateTime = new Date(message.sentAt).toISOString();
  time.textContent = timeFormat.format(message.sentAt);
  const status = document.createElement('span');
  status.className = 'status';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'retry';
  button.dataset.testid = 'retry';
  button.textContent = 'Retry';
  button.addEventListener('click', () => retry(message.id));
  meta.append(time, status, button);
  if (!message.own) item.append(from);
  item.append(text, meta);
  return item;
}

function updateItem(item: HTMLLIElement, message: TimelineMessage): void {
  item.dataset.status = message.status;
  item.dataset.path = message.path;
  if (message.seq !== undefined) item.dataset.seq = String(message.seq);
  else delete item.dataset.seq;
  const status = item.querySelector<HTMLElement>('.status');
  if (status) {
    status.textContent = message.own ? statusLabels[message.status] : message.path === 'p2p' ? 'via p2p' : '';
    status.title = message.error ?? '';
  }
  const button = item.querySelector<HTMLButtonElement>('.retry');
  if (button) button.hidden = message.status !== 'failed';
}

export function renderPeers(list: HTMLElement, peers: PeerView[]): void {
  list.replaceChildren(
    ...peers.map((peer) => {
      const item = document.createElement('li');
      item.className = 'peer';
      item.dataset.testid = 'peer';
      item.dataset.clientId = peer.clientId;
      item.dataset.path = peer.path;
      const name = document.createElement('span');
      name.textContent = `${peer.user} `;
      const path = document.createElement('span');
      path.className = 'path';
      path.textContent = peer.path;
      item.append(name, path);
      return item;
    }),
  );
}

export function renderConnection(badge: HTMLElement, state: ConnectionState): void {
  badge.dataset.state = state;
  badge.textContent = connectionLabels[state];
}
