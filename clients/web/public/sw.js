// Caches the app shell so the chat opens while offline: the page's outbox (IndexedDB) then shows what is unsent and
// sends it when the network is back. API, token and WebSocket requests are never cached.
const shellCache = 'chatplatform-shell-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(shellCache);
      const response = await fetch('/', { cache: 'no-store' });
      if (!response.ok) throw new Error(`the app shell answered ${response.status}`);
      const html = await response.clone().text();
      await cache.put('/', response);
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]);
      await cache.addAll(assets);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== shellCache) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === '/') {
    // Network first, so a new version is picked up at once; the cached shell only when the network fails.
    event.respondWith(
      fetch(request)
        .then(async (response) => {
          const isPage = response.ok && (response.headers.get('content-type') ?? '').startsWith('text/html');
          if (isPage) await (await caches.open(shellCache)).put('/', response.clone());
          return response;
        })
        .catch(async () => (await caches.match('/')) ?? Response.error()),
    );
  } else if (url.pathname.startsWith('/assets/')) {
    // Built assets have content hashes in their names: a cached one is never stale.
    event.respondWith(
      caches.match(request).then(
        (cached) =>
          cached ??
          fetch(request).then(async (response) => {
            if (response.ok) await (await caches.open(shellCache)).put(request, response.clone());
            return response;
          }),
      ),
    );
  }
});
