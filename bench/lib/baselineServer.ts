/**
 * The baseline every HTTP benchmark compares against: a bare node:http server doing the least a key
 * check can do — read the JSON body, SHA-256 the key, look it up in a Map, answer JSON.
 * Usage: node --import tsx bench/lib/baselineServer.ts <port> <keysFile?>
 */
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const port = Number(process.argv[2] ?? 0);
const keys = new Map<string, { keyId: string }>();
if (process.argv[3]) {
  for (const line of readFileSync(process.argv[3], 'utf8').split('\n')) {
    if (line) keys.set(createHash('sha256').update(line).digest('base64'), { keyId: `key_${keys.size}` });
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: { key?: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    const hash = createHash('sha256').update(String(body.key ?? '')).digest('base64');
    const found = keys.get(hash);
    const data = found ? { valid: true, code: 'VALID', keyId: found.keyId } : { valid: false, code: 'NOT_FOUND' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ meta: { requestId: 'req_0' }, data }));
  });
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
