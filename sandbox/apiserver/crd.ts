/**
 * CustomResourceDefinitions: checking one as the real server does (structural schema, names), the
 * resources it serves once established, and the status the server reports for it.
 */
import { structuralViolations, type JSONSchemaProps } from '../../lib/api/index.js';
import type { FieldError } from '../../lib/errors.js';
import { ALL_VERBS, type ResourceDef, type ScalePaths } from './resources.js';
import { compileSchema } from './schema.js';
import { crdColumns, type PrinterColumn } from './table.js';
import type { KubeObject } from './types.js';

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: { status?: object; scale?: ScalePaths };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath: string }[];
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: {
    kind?: string;
    listKind?: string;
    plural?: string;
    singular?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions?: CrdVersion[];
}

const spec = (crd: KubeObject) => (crd.spec ?? {}) as CrdSpec;

/** The problems that make the real server refuse a CRD (422), as field errors. */
export function crdProblems(crd: KubeObject): FieldError[] {
  const s = spec(crd);
  const out: FieldError[] = [];
  const required = (field: string) =>
    out.push({ field, reason: 'FieldValueRequired', message: 'Required value' });
  if (!s.group) required('spec.group');
  if (!s.names?.plural) required('spec.names.plural');
  if (!s.names?.kind) required('spec.names.kind');
  if (s.scope !== 'Namespaced' && s.scope !== 'Cluster') {
    out.push({
      field: 'spec.scope',
      reason: 'FieldValueNotSupported',
      message: 'supported values: "Cluster", "Namespaced"',
    });
  }
  if (s.group && s.names?.plural && crd.metadata.name !== `${s.names.plural}.${s.group}`) {
    out.push({
      field: 'metadata.name',
      reason: 'FieldValueInvalid',
      message: 'must be spec.names.plural+"."+spec.group',
    });
  }
  const versions = s.versions ?? [];
  if (versions.length === 0) required('spec.versions');
  if (versions.length > 0 && versions.filter((v) => v.storage).length !== 1) {
    out.push({
      field: 'spec.versions',
      reason: 'FieldValueInvalid',
      message: 'must have exactly one version marked as storage version',
    });
  }
  versions.forEach((v, i) => {
    const schema = v.schema?.openAPIV3Schema;
    if (!schema) {
      required(`spec.versions[${i}].schema.openAPIV3Schema`);
      return;
    }
    for (const violation of structuralViolations(schema)) {
      const [path = '', message = violation] = violation.split(/: (.*)/s);
      out.push({ field: `spec.versions[${i}].schema.${path}`, reason: 'FieldValueRequired', message });
    }
  });
  return out;
}

/** The resources a valid CRD serves, one per served version. */
export function crdResourceDefs(crd: KubeObject): ResourceDef[] {
  const s = spec(crd);
  const names = s.names ?? {};
  const kind = names.kind ?? '';
  return (s.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: s.group ?? '',
      version: v.name,
      kind,
      listKind: names.listKind ?? `${kind}List`,
      plural: names.plural ?? '',
      singular: names.singular ?? kind.toLowerCase(),
      namespaced: s.scope !== 'Cluster',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: ALL_VERBS,
      status: v.subresources?.status !== undefined,
      ...(v.subresources?.scale ? { scale: v.subresources.scale } : {}),
      subresources: [],
      fieldSelectors: (v.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, '')),
      columns: crdColumns(v.additionalPrinterColumns),
      generation: true,
      schema: compileSchema(v.schema?.openAPIV3Schema ?? { type: 'object' }),
      strategicMerge: false,
      fields: [],
    }));
}

/** The status the real server reports for an established CRD. */
export function crdStatus(crd: KubeObject, now: string): Record<string, unknown> {
  const s = spec(crd);
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: 'True',
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    acceptedNames: s.names ?? {},
    storedVersions: (s.versions ?? []).filter((v) => v.storage).map((v) => v.name),
  };
}
