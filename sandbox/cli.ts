/**
 * `npm run sandbox`: the whole sandbox, the API server and the pod runtime that runs its pods as
 * real processes (etcd images as etcd, busybox from this machine's tools). Writes a kubeconfig for
 * kubectl, says how to use it, and runs until interrupted; `--no-pods` runs the API server alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crds } from '../generated/crds.js';
import { startApiServer } from './apiserver/server.js';
import { startSandbox } from './sandbox.js';

const USAGE = `usage: npm run sandbox -- [--kubeconfig FILE] [--port N] [--host ADDR] [--http] [--no-crds] [--no-pods]

Starts the sandbox: a Kubernetes API server (with the etcd.io CRDs installed) and a pod runtime
that runs its pods as processes, etcd images as real etcd. Writes a kubeconfig for its admin user
to FILE (default: a temporary one, removed at the end). --no-pods starts the API server alone:
pods are stored but never run. Stop it with Ctrl-C.`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        kubeconfig: { type: 'string' },
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        http: { type: 'boolean', default: false },
        'no-crds': { type: 'boolean', default: false },
        'no-pods': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port ${args.port}: not a port number\n${USAGE}\n`);
    return 2;
  }
  const dir = args.kubeconfig === undefined ? mkdtempSync(join(tmpdir(), 'sandbox-')) : undefined;
  const kubeconfig = args.kubeconfig ?? join(dir!, 'kubeconfig');
  const api = { port, host: args.host, tls: !args.http, crds: args['no-crds'] ? [] : crds };
  let stop: () => Promise<void>;
  let url: string;
  if (args['no-pods']) {
    const server = await startApiServer(api);
    server.writeKubeconfig(kubeconfig);
    ({ url } = server);
    stop = () => server.stop();
  } else {
    const sandbox = await startSandbox({ api, kubeconfigPath: kubeconfig });
    url = sandbox.api.url;
    stop = () => sandbox.stop();
  }
  process.stdout.write(
    `sandbox API server at ${url}, ${args['no-pods'] ? 'without a pod runtime: pods never run' : 'with a pod runtime'}
kubeconfig: ${kubeconfig}

  export KUBECONFIG=${kubeconfig}
  kubectl get nodes
  kubectl run etcd --image=registry.k8s.io/etcd:3.5.21-0 --command -- etcd
  kubectl exec etcd -- etcdctl endpoint status -w table

Press Ctrl-C to stop.
`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  return 0;
}

process.exitCode = await main();
