/** Builds an apiextensions.k8s.io/v1 CustomResourceDefinition from a kind's schema source. */
import { GROUP, VERSION, inlineRefs, stripAnnotations, type KindSource, type Sources } from './sources.js';
import type { JSONSchemaProps } from '../../lib/api/openapi.js';

/** The kind's full schema with references inlined; `x-message` kept for the validators. */
export function resolvedSchema(kind: KindSource, sources: Sources): JSONSchemaProps {
  return stripAnnotations(inlineRefs(kind.schema, sources.definitions), (k) => k === 'x-message');
}

export function buildCrd(kind: KindSource, sources: Sources): Record<string, unknown> {
  const schema = stripAnnotations(resolvedSchema(kind, sources));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${kind.plural}.${GROUP}`,
      labels: {
        'app.kubernetes.io/name': 'etcd-k8s-operator',
        'app.kubernetes.io/part-of': 'etcd-k8s-operator',
      },
    },
    spec: {
      group: GROUP,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.singular,
        shortNames: kind.shortNames,
        categories: kind.categories,
      },
      scope: kind.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: kind.subresources,
          additionalPrinterColumns: kind.printerColumns,
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}
