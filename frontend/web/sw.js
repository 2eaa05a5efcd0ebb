// Service worker: keeps the app shell available offline and makes the page installable. Only the page's own static
// files are cached; config.json and every API or S3 request always go to the network (they are live data).

const CACHE = "imagetagger-shell-v6";
const SHELL = [
  "./",
  "index.html",
  "styles.css",
  "manifest.webmanifest",
  "coco_categories.json",
  "icons/icon.svg",
  "icons/icon-192.png",
  "icons/icon-512.png",
  "js/app.js",
  "js/api.js",
  "js/auth.js",
  "js/boxes.js",
  "js/cards.js",
  "js/config.js",
  "js/corrections.js",
  "js/detail-view.js",
  "js/dom.js",
  "js/gallery-view.js",
  "js/label-card.js",
  "js/label-form.js",
  "js/label-names.js",
  "js/labels-view.js",
  "js/polling.js",
  "js/similar.js",
  "js/thumb-grid.js",
  "js/thumbnails.js",
  "js/tiles.js",
  "js/upload.js",
  "js/uploads-view.js",
  "js/vocabulary.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)))),
  );
  self.clients.claim();
});

// Network first, cache as the fallback: a new deployment shows at once, and the shell still opens offline.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.endsWith("/config.json")) {
    return;
  }
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request).then((cached) => cached || Response.error())),
  );
});
