/**
 * `npm run sandbox -- --kubeconfig FILE`: starts the sandbox API server, writes a kubeconfig for
 * kubectl, and runs until interrupted.
 */
import { parseArgs } from 'node:util';
import { crds } from '../generated/crds.js';
import { startApiServer } from './apiserver/server.js';

const USAGE = `usage: npm run sandbox -- --kubeconfig FILE [--port N] [--host ADDR] [--http] [--no-crds]

Starts the sandbox Kubernetes API server (with the etcd.io CRDs installed) and writes a kubeconfig
for its admin user to FILE. Stop it with Ctrl-C.`;

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
  if (!args.kubeconfig) {
    process.stderr.write(`--kubeconfig FILE is required\n${USAGE}\n`);
    return 2;
  }
  const server = await startApiServer({
    port: Number(args.port),
    host: args.host,
    tls: !args.http,
    crds: args['no-crds'] ? [] : crds,
  });
  server.writeKubeconfig(args.kubeconfig);
  process.stdout.write(
    `sandbox API server at ${server.url}\nkubeconfig: ${args.kubeconfig}\n  kubectl --kubeconfig ${args.kubeconfig} get namespaces\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  return 0;
}

process.exitCode = await main();
