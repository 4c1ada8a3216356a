/** etcd versions, MAJOR.MINOR.PATCH, compared numerically (3.10 comes after 3.9). */

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

export function parseVersion(value: string): Version | undefined {
  const m = /^v?([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(value);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** The MAJOR.MINOR of `3.5`, `3.5.9` or `v3.5.9` (`3.5`); undefined for anything else. */
export function minorVersion(value: string): string | undefined {
  return /^v?([0-9]+\.[0-9]+)(\.[0-9]+)?$/.exec(value)?.[1];
}

/** Negative when a < b, zero when equal, positive when a > b. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}
