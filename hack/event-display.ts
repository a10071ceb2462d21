// npm run event-display -- [port]: a subscriber on this machine for a Trigger's `uri` (default port
// 8099, on 127.0.0.1). Prints one JSON line per CloudEvent received (binary or structured mode) and
// answers 200, like Knative's event_display. See knative/examples/local-subscriber.yaml.
import { createServer } from 'node:http';
import { fromHttp } from '@pgfn/pipeline';

const port = Number(process.argv[2] ?? process.env['PORT'] ?? 8099);
const server = createServer((req, res) => {
  // probes: the function supervisor runs it as a Knative Service's local equivalent (local-images.ts)
  if (req.method === 'GET' && (req.url === '/readyz' || req.url === '/healthz')) {
    res.writeHead(200).end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const event = fromHttp(req.headers, Buffer.concat(chunks));
    if (typeof event === 'string') {
      res.writeHead(400).end(event);
      return;
    }
    const { type, subject, source, id } = event.attributes;
    const text = event.data.toString('utf8');
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: printed as text
    }
    console.log(JSON.stringify({ type, subject, source, id, data }));
    res.writeHead(200).end();
  });
});
server.listen(port, '127.0.0.1', () => console.error(`event-display listening on http://127.0.0.1:${port}/`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
