/**
 * Pod networking. As root: a bridge per runtime (`esb<slot>`, gateway `<prefix>.<slot>.1/24`), and per
 * pod a network namespace (`esb<slot>-<n>`) joined to it by a veth pair, with its own address, so
 * that every pod may listen on 0.0.0.0:2379 and the machine reaches pods by IP. The pod's hosts file
 * lives at /etc/netns/<ns>/hosts (what `ip netns exec` would mount over /etc/hosts).
 *
 * Without root, namespaces cannot be made: each pod gets a loopback address `127.<slot+1>.0.<n>`
 * (all of 127/8 is loopback) in the machine's own network, and must bind that address itself.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EtcdOperatorError, UnavailableError } from '../../lib/errors.js';

const run = promisify(execFile);

export type NetworkMode = 'netns' | 'loopback';

/** A fault the runtime cannot inject in its current mode (never silently skipped). */
export class FaultUnsupportedError extends EtcdOperatorError {
  override name = 'FaultUnsupportedError';
}

export interface PodNetwork {
  ip: string;
  /** The namespace's name and its /run/netns path (netns mode). */
  netns?: string;
  netnsPath?: string;
  /** The file mounted over the pod's /etc/hosts. */
  hostsPath: string;
}

export interface NodeNetworkOptions {
  mode: NetworkMode;
  slot: number;
  /** The first two octets of the pods' addresses in netns mode; default `10.213`. */
  prefix?: string;
  /** Where loopback-mode hosts files go. */
  stateDir: string;
  ip?: string;
}

/** Names shared by a runtime and the reaper of its stale slot. */
export function slotNames(slot: number) {
  return { bridge: `esb${slot}`, netnsPrefix: `esb${slot}-`, veth: (n: number) => `esb${slot}v${n}` };
}

export class NodeNetwork {
  readonly mode: NetworkMode;
  /** The node's address as pods see it (their gateway), or 127.0.0.1 in loopback mode. */
  readonly hostIP: string;
  private readonly names;
  private readonly subnet: string;
  private readonly used = new Set<number>();
  /** Every namespace and link this network made, to check that none outlives it. */
  readonly made = { netns: new Set<string>(), links: new Set<string>() };
  private next = 2;
  private readonly ip: string;

  private constructor(private readonly options: NodeNetworkOptions) {
    this.mode = options.mode;
    this.names = slotNames(options.slot);
    this.subnet =
      options.mode === 'netns'
        ? `${options.prefix ?? '10.213'}.${options.slot}`
        : `127.${options.slot + 1}.0`;
    this.hostIP = options.mode === 'netns' ? `${this.subnet}.1` : '127.0.0.1';
    this.ip = options.ip ?? 'ip';
  }

  static async create(options: NodeNetworkOptions): Promise<NodeNetwork> {
    const net = new NodeNetwork(options);
    if (net.mode === 'netns') {
      const { bridge } = net.names;
      await net.cmd('link', 'add', bridge, 'type', 'bridge');
      net.made.links.add(bridge);
      await net.cmd('addr', 'add', `${net.hostIP}/24`, 'dev', bridge);
      await net.cmd('link', 'set', bridge, 'up');
    }
    return net;
  }

  /**
   * An address for a pod, taken before its network is made: the kubelet names the pod in its peers'
   * hosts files from then on. Undefined when the subnet is full (addPod then says so).
   */
  reserve(): string | undefined {
    const n = this.allocate();
    return n === undefined ? undefined : `${this.subnet}.${n}`;
  }

  /** Gives back a reserved address, once the pod's network (if it was made) is removed. */
  release(ip: string): void {
    this.used.delete(Number(ip.split('.')[3]));
  }

  /** The pod's network, on the address `reserve` gave it. */
  async addPod(key: string, ip: string | undefined): Promise<PodNetwork> {
    if (ip === undefined) throw new UnavailableError(`no free pod address in ${this.subnet}.0/24`);
    const n = Number(ip.split('.')[3]);
    if (this.mode === 'loopback') {
      const dir = join(this.options.stateDir, 'hosts');
      mkdirSync(dir, { recursive: true });
      return { ip, hostsPath: join(dir, `${key}-${n}`) };
    }
    const netns = `${this.names.netnsPrefix}${n}`;
    const veth = this.names.veth(n);
    try {
      await this.cmd('netns', 'add', netns);
      this.made.netns.add(netns);
      await this.cmd('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
      this.made.links.add(veth);
      await this.cmd('link', 'set', veth, 'master', this.names.bridge, 'up');
      await this.cmd('-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      await this.cmd('-n', netns, 'link', 'set', 'eth0', 'up');
      // A peer whose address is reserved but not up yet fails in 0.1 s rather than after ARP's 3 s:
      // etcd's bootstrap check waits up to 1 s for each peer that does not answer.
      const fastArp = 'ntable change name arp_cache dev eth0 retrans 100 mcast_probes 1';
      await this.cmd('-n', netns, ...fastArp.split(' '));
      await this.cmd('-n', netns, 'link', 'set', 'lo', 'up');
      await this.cmd('-n', netns, 'route', 'add', 'default', 'via', this.hostIP);
    } catch (err) {
      await this.removePod({ ip, netns, hostsPath: '' });
      throw err;
    }
    const dir = `/etc/netns/${netns}`;
    mkdirSync(dir, { recursive: true });
    const hostsPath = join(dir, 'hosts');
    writeFileSync(hostsPath, '');
    return { ip, netns, netnsPath: `/run/netns/${netns}`, hostsPath };
  }

  /** Removes what addPod made; the address stays reserved until `release`. */
  async removePod(pod: PodNetwork): Promise<void> {
    if (pod.netns === undefined) {
      rmSync(pod.hostsPath, { force: true });
      return;
    }
    // The pair goes with its host end at once (a namespace's own links go later, in the background).
    await this.cmd('link', 'del', this.names.veth(Number(pod.ip.split('.')[3]))).catch(() => undefined);
    await this.cmd('netns', 'del', pod.netns).catch(() => undefined);
    rmSync(`/etc/netns/${pod.netns}`, { recursive: true, force: true });
  }

  /** Cuts the pod off from every other pod (the node still reaches it); `heal` undoes it. */
  async partition(pod: PodNetwork): Promise<void> {
    const netns = this.requireNetns(pod, 'partition');
    // Policy routing inside the pod: the subnet goes to a table that only knows the gateway.
    await this.cmd('-n', netns, 'route', 'add', `${this.hostIP}/32`, 'dev', 'eth0', 'table', '100');
    await this.cmd('-n', netns, 'route', 'add', 'blackhole', `${this.subnet}.0/24`, 'table', '100');
    await this.cmd(
      '-n',
      netns,
      'rule',
      'add',
      'to',
      `${this.subnet}.0/24`,
      'table',
      '100',
      'priority',
      '100',
    );
  }

  async heal(pod: PodNetwork): Promise<void> {
    const netns = this.requireNetns(pod, 'heal');
    await this.cmd('-n', netns, 'rule', 'del', 'priority', '100').catch(() => undefined);
    await this.cmd('-n', netns, 'route', 'flush', 'table', '100').catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.mode === 'netns') await this.cmd('link', 'del', this.names.bridge).catch(() => undefined);
  }

  private requireNetns(pod: PodNetwork, what: string): string {
    if (pod.netns === undefined) {
      throw new FaultUnsupportedError(
        `cannot ${what} a pod in loopback network mode: it shares the machine's network (needs root)`,
      );
    }
    return pod.netns;
  }

  /** Addresses are handed out round-robin so that a name does not move to a new pod at once. */
  private allocate(): number | undefined {
    for (let i = 0; i < 253; i++) {
      const n = ((this.next - 2 + i) % 253) + 2;
      if (!this.used.has(n)) {
        this.used.add(n);
        this.next = n + 1;
        return n;
      }
    }
    return undefined;
  }

  private async cmd(...args: string[]): Promise<void> {
    try {
      await run(this.ip, args);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new UnavailableError(`ip ${args.join(' ')}: ${stderr || String(err)}`, { cause: err });
    }
  }
}

/** Removes what a crashed runtime left in `slot`: its namespaces (and their processes), bridge and hosts dirs. */
export async function reapSlotNetwork(slot: number, ip = 'ip'): Promise<void> {
  const { bridge, netnsPrefix } = slotNames(slot);
  const list = await run(ip, ['netns', 'list']).catch(() => ({ stdout: '' }));
  for (const line of list.stdout.split('\n')) {
    const netns = line.split(' ')[0] ?? '';
    if (!netns.startsWith(netnsPrefix)) continue;
    const pids = await run(ip, ['netns', 'pids', netns]).catch(() => ({ stdout: '' }));
    for (const pid of pids.stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    await run(ip, ['netns', 'del', netns]).catch(() => undefined);
    rmSync(`/etc/netns/${netns}`, { recursive: true, force: true });
  }
  for (const dir of existsSync('/etc/netns') ? readdirSync('/etc/netns') : []) {
    if (dir.startsWith(netnsPrefix)) rmSync(`/etc/netns/${dir}`, { recursive: true, force: true });
  }
  await run(ip, ['link', 'del', bridge]).catch(() => undefined);
}
