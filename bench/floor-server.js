// Calibration servers for the benchmarks' "floor" rows: the cheapest HTTP server Node offers
// (node:http) and bare fastify, each answering GET / with a small JSON body, so taglets'
// own figures can be read against what this machine can do at all.
//   node bench/floor-server.js http|fastify   → prints "listening <port>"
//   fork('bench/floor-server.js', ['ipc'])     → IPC echo child (sends {t:'ready'} first)
const kind = process.argv[2] ?? 'http';
const body = JSON.stringify({ ok: true, name: 'floor' });

if (kind === 'http') {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 75_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
} else if (kind === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, keepAliveTimeout: 75_000 });
  app.get('/', async (_req, reply) => reply.type('application/json').send(body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${app.server.address().port}\n`);
} else if (kind === 'ipc') {
  // Forked with serialization 'advanced': echoes every message, like an agent child's reply.
  process.on('message', (msg) => process.send({ t: 'res', id: msg.id, ok: true, value: msg.message?.args ?? null }));
  process.send({ t: 'ready', pid: process.pid });
} else {
  process.stderr.write(`unknown floor server '${kind}'\n`);
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
