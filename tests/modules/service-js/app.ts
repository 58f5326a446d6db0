// Test fixture: a JavaScript module, written in TypeScript (esbuild strips the types), with
// every handler: HTTP over the ORM, storage, mail and config, a WebSocket namespace, events
// and jobs.
//
// WebSocket `/js`:
//     join {room}  -> the sender gets `joined {room}`, the room gets `presence {room, users}`
//     say {room, text} -> the room gets `said {room, text, user}`; emits `service-js.said.v1`
//     echo DATA -> the sender gets `echo DATA` (with the message's id)
// Clients whose token says `sub = "mallory"` are refused at connect. The event handler logs
// what was said and dispatches a `js-echo` job, whose handler logs it again.

import { PlughostError, Request, Response, Router, config, events, log, mail, orm, queue, storage, ws } from 'plughost';

type Book = { id: number; title: string; year?: number; read: boolean };

const router = new Router();
const books = new orm.Repository('book');

router.get('/ping', () => Response.text('pong'));

router.get('/boom', () => {
  const missing: any = undefined;
  return Response.text(missing.field); // a TypeError: the invocation traps, the host answers 500
});

router.get('/config/{key}', (request: Request) => Response.json({ value: config.get(request.param('key')!) }));

router.post('/books', (request: Request) => Response.json(books.create(request.json()), 201));

router.get('/books', (request: Request) => {
  const query = new orm.Query().orderBy('year', true);
  if ('read' in request.query) query.filter('read', request.query.read === 'true');
  const page = books.paginate(Number(request.query.page ?? 1), Number(request.query.limit ?? 10), query);
  return Response.json(page);
});

function found(book: Book | null): Book {
  if (book === null) throw new PlughostError('not-found', 'no such book');
  return book;
}

router.get('/books/{id}', (request: Request) => Response.json(found(books.findById(request.param('id')!))));

router.patch('/books/{id}', (request: Request) => Response.json(found(books.update(request.param('id')!, request.json()))));

router.delete('/books/{id}', (request: Request) => {
  if (!books.delete(request.param('id')!)) throw new PlughostError('not-found', 'no such book');
  return new Response(204);
});

// Creates every book in one transaction; any bad one undoes them all.
router.post('/books/batch', (request: Request) => {
  const created = orm.transaction(() => (request.json() as object[]).map((values) => books.create(values)));
  return Response.json({ created: created.length, count: books.count() });
});

router.put('/objects/{*key}', (request: Request) => {
  const info = storage.put(request.param('key')!, request.body, {
    contentType: request.header('content-type'),
    metadata: request.header('x-meta-author') ? { author: request.header('x-meta-author') } : {},
  });
  return Response.json(info, 201);
});

router.get('/objects/{*key}', (request: Request) => {
  const key = request.param('key')!;
  const { start, end } = request.query;
  const object = storage.read(key, { start, end });
  const listing = storage.list(key.split('/')[0] + '/', { limit: 10 });
  return new Response(200, {
    'content-type': object.info.contentType,
    'x-size': object.info.size,
    'x-author': object.info.metadata.author ?? '',
    'x-keys': storage.keys(listing).join(','),
  }, object.bytes);
});

// Writes `count` pieces in one upload and publishes the object.
router.post('/pieces', (request: Request) => {
  const upload = storage.beginUpload(request.query.key, { contentType: 'text/plain' });
  for (const piece of ['aaaa', 'bbbb', 'cccc']) upload.append(piece);
  const written = upload.written();
  const info = upload.commit();
  return Response.json({ written, info, url: storage.publish(info.key, 60) }, 201);
});

router.post('/mail', (request: Request) => {
  const spec = request.json();
  const id = mail.send({
    to: spec.to,
    from: spec.from,
    subject: spec.subject,
    text: spec.text,
    attachments: spec.attachment ? [{ name: spec.attachment, contentType: 'text/plain', content: 'attached ✓' }] : [],
  });
  return Response.json({ id }, 201);
});

export const httpHandler = router.handler();

const sockets = new ws.Sockets();

sockets.onConnect((connection: ws.Connection) => {
  if (connection.userId === 'mallory') throw new PlughostError('denied', 'mallory is not welcome here');
});

sockets.on('join', (_connection: ws.Connection, message: ws.Message) => {
  const room = message.data.room;
  ws.join(room);
  ws.reply('joined', { room });
  ws.toRoom(room, 'presence', { room, users: ws.presence(room) });
});

sockets.on('say', (connection: ws.Connection, message: ws.Message) => {
  const { room, text } = message.data;
  ws.toRoom(room, 'said', { room, text, user: connection.userId });
  events.emit('service-js.said.v1', { text });
});

sockets.on('echo', (_connection: ws.Connection, message: ws.Message) => ws.reply('echo', message.data));

export const wsHandler = sockets.handler();

const subscriptions = new events.Subscriptions();

subscriptions.on('service-js.*', (event: events.Event) => {
  log.info(`heard ${event.payload.text} on ${event.topic}`);
  queue.dispatch('js-echo', { text: event.payload.text });
});

export const eventHandler = subscriptions.handler();

const jobs = new queue.Jobs();

jobs.handle('js-echo', (job: queue.Job) => log.info(`job ${job.queue} attempt ${job.attempt}: ${job.payload.text}`));

export const jobHandler = jobs.handler();
