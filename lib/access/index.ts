/**
 * lib/access: how a workstation reaches etcd members on Kubernetes — port-forward through the API
 * server with the client certificate from the cluster's Secret, or exec of `etcdctl` inside the
 * member pods with the pod's own certificate files — handing back an EtcdAdmin either way.
 */
export {
  connectEtcd,
  chooseTransport,
  type ConnectOptions,
  type EtcdConnection,
  type MemberAccess,
  type TransportChoice,
  type TransportName,
} from './connect.js';
export {
  findTarget,
  listTargets,
  STATIC_ETCD_LABELS,
  STATIC_ETCD_NAME,
  type EtcdTarget,
  type TargetQuery,
} from './targets.js';
export { forwardPort, type ForwardedPort, type PortForwardTarget } from './port-forward.js';
export { execInPod, exitCodeOf, type ExecRequest, type ExecResult } from './exec.js';
export {
  readEtcdFlags,
  etcdContainer,
  etcdctlTlsArgs,
  localClientURL,
  clientPort,
  type EtcdPodFlags,
  type ClientKeyPair,
} from './etcd-flags.js';
export {
  createEtcdctlAdmin,
  etcdctlError,
  type EtcdctlAdminOptions,
  type EtcdctlEndpoint,
} from './etcdctl-admin.js';
export { channelConnector, type ChannelConnector } from './channel.js';
