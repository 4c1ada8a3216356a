/**
 * Throughput of the sandbox API server: start time, then creates, merge patches and
 * label-selected lists of ConfigMaps while watches are open, over HTTPS with keep-alive.
 * `--real` runs the same against a real kube-apiserver (hack/kube-binaries.sh) as the baseline.
 *
 *   node --import tsx bench/apiserver-throughput.ts [--objects 1000] [--watches 50] [--real]
 */
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';
import { startApiServer } from '../sandbox/index.js';

interface Target {
  url: string;
  caCert: string;
  token(): string;
  stop(): Promise<void>;
}

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '1000' },
    watches: { type: 'string', default: '50' },
    real: { type: 'boolean', default: false },
  },
});
const objects = Number(values.objects);
const watchCount = Number(values.watches);

async function measure(name: string, start: () => Promise<Target>): Promise<Record<string, string>> {
  let t0 = performance.now();
  const server = await start();
  const started = performance.now() - t0;
  const agent = new https.Agent({ keepAlive: true, ca: server.caCert, maxSockets: 1 });
  const call = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    new Promise<void>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        new URL(path, server.url),
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${server.token()}`,
            ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode && res.statusCode < 300
              ? resolve()
              : reject(new Error(`${method} ${path}: ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const ns = `bench-${Date.now()}`;
  await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const base = `/api/v1/namespaces/${ns}/configmaps`;
  const watches: ClientRequest[] = [];
  let events = 0;
  for (let i = 0; i < watchCount; i++) {
    const req = https.get(
      new URL(`${base}?watch=true`, server.url),
      { ca: server.caCert, headers: { authorization: `Bearer ${server.token()}` } },
      (res) => res.on('data', (chunk: Buffer) => (events += chunk.toString().split('\n').length - 1)),
    );
    req.on('error', () => {});
    watches.push(req);
  }
  const timed = async (fn: (i: number) => Promise<void>, n: number) => {
    t0 = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    return performance.now() - t0;
  };
  const create = await timed(
    (i) =>
      call('POST', base, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, labels: { i: String(i % 7) } },
        data: { k: 'v'.repeat(100) },
      }),
    objects,
  );
  const patch = await timed(
    (i) => call('PATCH', `${base}/cm-${i}`, { data: { k: 'w' } }, 'application/merge-patch+json'),
    objects,
  );
  const list = await timed(() => call('GET', `${base}?labelSelector=i%3D3`), 100);
  for (const w of watches) w.destroy();
  agent.destroy();
  await server.stop();
  const per = (ms: number, n: number) => `${(ms / n).toFixed(2)} ms`;
  return {
    server: name,
    start: `${Math.round(started)} ms`,
    [`create (${watchCount} watches)`]: per(create, objects),
    'merge patch': per(patch, objects),
    [`list 1 of 7 (${objects} objects)`]: per(list, 100),
    'watch events seen': String(events),
  };
}

const rows = [await measure('sandbox', () => startApiServer())];
if (values.real) {
  const { startRealApiServer } = await import('../sandbox/real/index.js');
  rows.push(await measure('kube-apiserver', () => startRealApiServer({ controllers: [] })));
}
console.table(rows);
