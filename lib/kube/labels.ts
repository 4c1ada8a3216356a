/** Label selectors: rendered for the API server's `labelSelector` parameter and matched locally. */

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  /** For In and NotIn. */
  values?: readonly string[];
}

/** metav1.LabelSelector: every term must hold. An empty selector matches everything. */
export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly SelectorRequirement[];
}

function requirements(selector: LabelSelector): SelectorRequirement[] {
  return [
    ...Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
      key,
      operator: 'In' as const,
      values: [value],
    })),
    ...(selector.matchExpressions ?? []),
  ];
}

/** The selector in the API server's syntax (`app=etcd,tier in (a,b),!legacy`); '' for an empty one. */
export function formatLabelSelector(selector: LabelSelector): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'Exists') terms.push(key);
    else if (operator === 'DoesNotExist') terms.push(`!${key}`);
    else terms.push(`${key} ${operator.toLowerCase()} (${[...values].sort().join(',')})`);
  }
  return terms.sort().join(',');
}

export function matchesLabelSelector(
  labels: Readonly<Record<string, string>> | undefined,
  selector: LabelSelector,
): boolean {
  return requirements(selector).every(({ key, operator, values = [] }) => {
    const value = labels?.[key];
    switch (operator) {
      case 'In':
        return value !== undefined && values.includes(value);
      case 'NotIn':
        return value === undefined || !values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
    }
  });
}

/** The key=value pairs every matching object must carry: what a label index can look up. */
export function requiredLabels(selector: LabelSelector): [string, string][] {
  return requirements(selector).flatMap(({ key, operator, values }) =>
    operator === 'In' && values?.length === 1 && values[0] !== undefined
      ? [[key, values[0]] as [string, string]]
      : [],
  );
}
