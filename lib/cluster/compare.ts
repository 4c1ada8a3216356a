/**
 * Whether an existing object already says everything the desired one says. The API server adds
 * defaults (a Service's clusterIP, sessionAffinity, …), so equality would never hold; the fields we
 * set must match exactly, anything else may be there too.
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      desired.length === actual.length &&
      desired.every((d, i) => isSubset(d, actual[i]))
    );
  }
  if (typeof desired === 'object' && desired !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, a[k]));
  }
  return desired === actual;
}
