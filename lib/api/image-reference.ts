/**
 * Container image references by the grammar of github.com/distribution/reference (regexp.go,
 * reference.go), which Docker, containerd and the kubelet share:
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain "/"] path-component ["/" path-component]*
 *   domain           := host [":" port-number]
 *   host             := domain-name | "[" IPv6address "]"
 *   domain-name      := domain-component ["." domain-component]*
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   port-number      := /[0-9]+/
 *   path-component   := alpha-numeric [separator alpha-numeric]*
 *   alpha-numeric    := /[a-z0-9]+/
 *   separator        := /[_.]|__|[-]+/
 *   tag              := /[\w][\w.-]{0,127}/
 *   digest           := algorithm ":" hex ; algorithm /[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*\/, hex /[0-9a-fA-F]{32,}/
 *
 * and a name of at most 255 characters. Like go-digest, a digest is also held to its algorithm:
 * sha256, sha384 or sha512 with exactly that many lowercase hex digits.
 */

const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6_ADDRESS = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_AND_PORT = `(?:${DOMAIN_NAME}|${IPV6_ADDRESS})(?::[0-9]+)?`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const NAME = `(?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME}`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';

const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_NAME_RE = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN_AND_PORT}$`);
const PATH_COMPONENT_RE = new RegExp(`^${PATH_COMPONENT}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const DIGEST_RE = new RegExp(`^${DIGEST}$`);

const NO_TAG = 'must be a repository without a tag or digest: the operator appends ":v" and spec.version';

/** The longest name (domain and path), as reference.NameTotalLengthMax. */
export const MAX_IMAGE_NAME_LENGTH = 255;
/** The digest algorithms go-digest registers, and the hex digits of each. */
const DIGEST_HEX_LENGTHS = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);

export interface ImageReference {
  /** The registry, with its port: `quay.io`, `localhost:5000`; '' when the name has none. */
  domain: string;
  /** The repository path under the domain: `coreos/etcd`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** Splits a valid reference into its parts; undefined when `ref` is not one (see imageReferenceProblem). */
export function parseImageReference(ref: string): ImageReference | undefined {
  if (imageReferenceProblem(ref) !== undefined) return undefined;
  const [, name = '', tag, digest] = REFERENCE_RE.exec(ref) ?? [];
  const [, domain = '', path = ''] = ANCHORED_NAME_RE.exec(name) ?? [];
  return { domain, path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/**
 * The problem with a full image reference (`name[:tag][@digest]`, such as `quay.io/coreos/etcd:v3.5.9`),
 * or undefined when it is valid.
 */
export function imageReferenceProblem(ref: string): string | undefined {
  const shape = commonProblem(ref);
  if (shape !== undefined) return shape;
  const match = REFERENCE_RE.exec(ref);
  if (!match) return explain(ref, true);
  const [, name = '', , digest] = match;
  return nameLengthProblem(name) ?? (digest === undefined ? undefined : digestAlgorithmProblem(digest));
}

/**
 * The problem with a repository given without tag or digest (`quay.io/coreos/etcd`, `etcd`,
 * `localhost:5000/etcd`), or undefined when it is valid.
 */
export function imageRepositoryProblem(repository: string): string | undefined {
  const shape = commonProblem(repository);
  if (shape !== undefined) return shape;
  if (!ANCHORED_NAME_RE.test(repository)) {
    if (REFERENCE_RE.test(repository)) {
      return NO_TAG;
    }
    return explain(repository, false);
  }
  return nameLengthProblem(repository);
}

function commonProblem(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
  if (scheme) return `must not start with a URL scheme (${quote(scheme[0])})`;
  const space = /\s/.exec(value);
  if (space) return `must not contain whitespace (found ${quote(space[0])})`;
  return undefined;
}

function nameLengthProblem(name: string): string | undefined {
  if (name.length <= MAX_IMAGE_NAME_LENGTH) return undefined;
  return `the repository name must be at most ${MAX_IMAGE_NAME_LENGTH} characters (not ${name.length})`;
}

function digestAlgorithmProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTHS.get(algorithm);
  if (length === undefined) {
    return `digest algorithm ${quote(algorithm)} is not supported (use sha256, sha384 or sha512)`;
  }
  if (hex.length !== length)
    return `a ${algorithm} digest must have ${length} hex digits (not ${hex.length})`;
  if (!/^[0-9a-f]+$/.test(hex)) return `a ${algorithm} digest must be lowercase hex`;
  return undefined;
}

/**
 * Why `value`, which the grammar refused, is not a reference (or a name): the first part that is
 * wrong, found by splitting as the grammar would. Splitting by hand only explains; validity is
 * always decided by the regular expressions above.
 */
function explain(value: string, full: boolean): string {
  let rest = value;
  if (full) {
    const at = rest.indexOf('@');
    if (at >= 0) {
      const digest = rest.slice(at + 1);
      if (!DIGEST_RE.test(digest)) {
        return `digest ${quote(digest)} must be algorithm:hex, such as sha256: and 64 hex digits`;
      }
      rest = rest.slice(0, at);
    }
    if (looksTagged(rest)) {
      const colon = rest.lastIndexOf(':');
      const tag = rest.slice(colon + 1);
      if (!TAG_RE.test(tag)) {
        return `tag ${quote(tag)} must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`;
      }
      rest = rest.slice(0, colon);
    }
  } else if (rest.includes('@') || looksTagged(rest)) {
    return NO_TAG;
  }
  if (rest === '') return 'must start with a repository name';

  const components = rest.split('/');
  if (components.length === 1 && /[:[]/.test(rest) && DOMAIN_RE.test(rest)) {
    return `names only a registry: add the repository path after it, as in ${quote(`${rest}/etcd`)}`;
  }
  let first = 0;
  if (components.length > 1) {
    const domain = components[0] ?? '';
    // The grammar takes the first component as the domain when it can; a path component otherwise.
    if (DOMAIN_RE.test(domain)) first = 1;
    else if (!PATH_COMPONENT_RE.test(domain)) {
      if (/[.:[\]]/.test(domain) || domain === 'localhost' || /[A-Z]/.test(domain)) {
        return `registry ${quote(domain)} must be a host name or [IPv6 address] with an optional :port`;
      }
    }
  }
  for (const component of components.slice(first)) {
    if (PATH_COMPONENT_RE.test(component)) continue;
    if (component === '') return 'must not have an empty path component ("//", or "/" at either end)';
    const upper = /[A-Z]/.exec(component);
    if (upper) {
      return `the repository path must be lowercase (not ${quote(upper[0])} in ${quote(component)})`;
    }
    const bad = [...component].find((c) => !/[a-z0-9._-]/.test(c));
    if (bad !== undefined) {
      return `path component ${quote(component)} must not contain ${quote(bad)}`;
    }
    return `path component ${quote(component)} must be lowercase letters and digits separated by ".", "_", "__" or "-"`;
  }
  return 'is not a valid image reference';
}

/** Whether the last path component carries a `:tag` (a lone `host:port` is a name, not a tag). */
function looksTagged(value: string): boolean {
  const colon = value.lastIndexOf(':');
  if (colon <= value.lastIndexOf('/') || colon < value.lastIndexOf(']')) return false;
  return value.slice(0, colon).includes('/') || !/^[0-9]+$/.test(value.slice(colon + 1));
}

/** A value quoted for a message, shortened when long. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
