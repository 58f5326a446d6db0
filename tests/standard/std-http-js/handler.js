// An unmodified wasi:http/proxy component, written as componentize-js's fetch-event HTTP
// example: it knows nothing of plughost. GET PREFIX/hello/NAME answers
// "Hello, NAME! (js wasi:http)".
addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const name = url.pathname.split("/").pop();
  event.respondWith(
    new Response(`Hello, ${name}! (js wasi:http)`, {
      headers: { "content-type": "text/plain", "x-seen-path": url.pathname },
    }),
  );
});
