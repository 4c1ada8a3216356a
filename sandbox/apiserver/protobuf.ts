/**
 * The Kubernetes protobuf envelope (`k8s\0` + runtime.Unknown) for the few kinds kubectl 1.32 sends
 * as protobuf (`kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|service|pdb|…`,
 * `kubectl auth can-i`), decoded into JSON
 * objects with protobufjs. Other kinds answer 415, which kubectl reports as it is.
 */
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto2";
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
message OwnerReference { optional string kind = 1; optional string name = 3; optional string uid = 4; optional string apiVersion = 5; optional bool controller = 6; optional bool blockOwnerDeletion = 7; }
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3;
  map<string, string> labels = 11; map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13; repeated string finalizers = 14;
}
message LocalObjectReference { optional string name = 1; }
message ObjectReference { optional string kind = 1; optional string namespace = 2; optional string name = 3; }
message NamespaceSpec { repeated string finalizers = 1; }
message Namespace { optional ObjectMeta metadata = 1; optional NamespaceSpec spec = 2; }
message ConfigMap { optional ObjectMeta metadata = 1; map<string, string> data = 2; map<string, bytes> binaryData = 3; optional bool immutable = 4; }
message Secret { optional ObjectMeta metadata = 1; map<string, bytes> data = 2; optional string type = 3; map<string, string> stringData = 4; optional bool immutable = 5; }
message ServiceAccount { optional ObjectMeta metadata = 1; repeated ObjectReference secrets = 2; repeated LocalObjectReference imagePullSecrets = 3; optional bool automountServiceAccountToken = 4; }
message PolicyRule { repeated string verbs = 1; repeated string apiGroups = 2; repeated string resources = 3; repeated string resourceNames = 4; repeated string nonResourceURLs = 5; }
message Role { optional ObjectMeta metadata = 1; repeated PolicyRule rules = 2; }
message ClusterRole { optional ObjectMeta metadata = 1; repeated PolicyRule rules = 2; }
message Subject { optional string kind = 1; optional string apiGroup = 2; optional string name = 3; optional string namespace = 4; }
message RoleRef { optional string apiGroup = 1; optional string kind = 2; optional string name = 3; }
message RoleBinding { optional ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3; }
message ClusterRoleBinding { optional ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3; }
message ResourceAttributes { optional string namespace = 1; optional string verb = 2; optional string group = 3; optional string version = 4; optional string resource = 5; optional string subresource = 6; optional string name = 7; }
message NonResourceAttributes { optional string path = 1; optional string verb = 2; }
message SelfSubjectAccessReviewSpec { optional ResourceAttributes resourceAttributes = 1; optional NonResourceAttributes nonResourceAttributes = 2; }
message SelfSubjectAccessReview { optional ObjectMeta metadata = 1; optional SelfSubjectAccessReviewSpec spec = 2; }
message IntOrString { optional int64 type = 1; optional int32 intVal = 2; optional string strVal = 3; }
message ServicePort { optional string name = 1; optional string protocol = 2; optional int32 port = 3; optional IntOrString targetPort = 4; optional int32 nodePort = 5; }
message ServiceSpec { repeated ServicePort ports = 1; map<string, string> selector = 2; optional string clusterIP = 3; optional string type = 4; }
message Service { optional ObjectMeta metadata = 1; optional ServiceSpec spec = 2; }
message LabelSelectorRequirement { optional string key = 1; optional string operator = 2; repeated string values = 3; }
message LabelSelector { map<string, string> matchLabels = 1; repeated LabelSelectorRequirement matchExpressions = 2; }
message PodDisruptionBudgetSpec { optional IntOrString minAvailable = 1; optional LabelSelector selector = 2; optional IntOrString maxUnavailable = 3; }
message PodDisruptionBudget { optional ObjectMeta metadata = 1; optional PodDisruptionBudgetSpec spec = 2; }
`;

const root = protobuf.parse(PROTO).root;
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const KINDS = new Set([
  'Namespace',
  'ConfigMap',
  'Secret',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'SelfSubjectAccessReview',
  'Service',
  'PodDisruptionBudget',
]);

type IntOrString = { type?: number; intVal?: number; strVal?: string };
/** IntOrString's wire form → the number or string JSON carries. */
const intOrString = (v: IntOrString | undefined) =>
  v === undefined ? undefined : Number(v.type ?? 0) === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);

function fixIntOrString(kind: string, object: Record<string, unknown>): void {
  const spec = object.spec as Record<string, unknown> | undefined;
  if (!spec) return;
  if (kind === 'Service') {
    for (const port of (spec.ports ?? []) as Record<string, unknown>[]) {
      if (port.targetPort !== undefined) port.targetPort = intOrString(port.targetPort as IntOrString);
    }
  }
  if (kind === 'PodDisruptionBudget') {
    for (const key of ['minAvailable', 'maxUnavailable']) {
      if (spec[key] !== undefined) spec[key] = intOrString(spec[key] as IntOrString);
    }
  }
}

/** The object in a protobuf body, or undefined when its kind is not one this server decodes. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> | undefined {
  if (!body.subarray(0, 4).equals(MAGIC)) return undefined;
  const unknown = root.lookupType('Unknown').decode(body.subarray(4)) as unknown as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: Uint8Array;
  };
  const kind = unknown.typeMeta?.kind ?? '';
  if (!KINDS.has(kind) || !unknown.raw) return undefined;
  const type = root.lookupType(kind);
  const object = type.toObject(type.decode(unknown.raw), {
    bytes: String,
    longs: Number,
    defaults: false,
  }) as Record<string, unknown>;
  fixIntOrString(kind, object);
  return { apiVersion: unknown.typeMeta?.apiVersion ?? 'v1', kind, ...object };
}
