import { ChatClient } from '../lib';
import { renderConnection, renderMessages, renderPeers } from './render';

const namePattern = /^[A-Za-z0-9_.-]{1,64}$/;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

declare global {
  interface Window {
    /** The page's client, for tests and diagnosis from the console. */
    chat?: ChatClient;
  }
}

function showJoinForm(): void {
  const form = element<HTMLFormElement>('join');
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const url = new URL(location.href);
    url.searchParams.set('user', String(data.get('user')));
    url.searchParams.set('room', String(data.get('room')));
    history.replaceState(null, '', url);
    form.hidden = true;
    void openChat(String(data.get('user')), String(data.get('room')));
  });
}

async function openChat(user: string, roomId: string): Promise<void> {
  const params = new URLSearchParams(location.search);
  const client = new ChatClient({ user, roomId, blockPeerToPeer: params.get('rtc') === 'block' });
  window.chat = client;
  element('chat').hidden = false;
  element('room-name').textContent = `#${roomId}`;
  element('user-name').textContent = `as ${user}`;
  document.title = `#${roomId} · ChatPlatform`;

  const list = element<HTMLOListElement>('messages');
  const markReadIfSeen = () => {
    if (document.visibilityState === 'visible') client.markRead();
  };
  client.on('messages', (messages) => {
    renderMessages(list, messages, (id) => void client.retry(id));
    markReadIfSeen();
  });
  client.on('peers', (peers) => renderPeers(element('peers'), peers));
  client.on('connection', (state) => renderConnection(element('connection'), state));
  client.on('error', (error) => console.warn(`${error.code}: ${error.message}`));
  document.addEventListener('visibilitychange', markReadIfSeen);

  const composer = element<HTMLInputElement>('composer');
  element<HTMLFormElement>('composer-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = composer.value.trim();
    if (text.length === 0) return;
    composer.value = '';
    void client.send(text);
  });
  await client.start();
  composer.focus();
}

// The app shell is cached by a service worker, so a reload while offline still opens the page and its outbox.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => console.warn('service worker not registered', error));
}

const params = new URLSearchParams(location.search);
const user = params.get('user') ?? '';
const room = params.get('room') ?? '';
if (namePattern.test(user) && namePattern.test(room)) void openChat(user, room);
else showJoinForm();
