/** Kubernetes name and label syntax (apimachinery's validation package). */

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** The problem with a DNS-1035 label (a Service or member name), or undefined when it is fine. */
export function dns1035LabelProblem(value: string, maxLength = 63): string | undefined {
  if (value.length > maxLength) return `must be no more than ${maxLength} characters`;
  if (!DNS1035_LABEL.test(value)) {
    return 'must consist of lower case alphanumeric characters or "-", start with a letter and end with an alphanumeric character';
  }
  return undefined;
}

export function dns1123SubdomainProblem(value: string): string | undefined {
  if (value.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return 'must consist of lower case alphanumeric characters, "-" or ".", and start and end with an alphanumeric character';
  }
  return undefined;
}

/** The problem with a label or annotation key (`prefix/name`), or undefined when it is fine. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && dns1123SubdomainProblem(prefix))
    return `prefix "${prefix}" is not a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return 'must be 63 characters or less, alphanumeric, "-", "_" or ".", starting and ending alphanumeric';
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value)) {
    return 'must be 63 characters or less, alphanumeric, "-", "_" or ".", starting and ending alphanumeric';
  }
  return undefined;
}
