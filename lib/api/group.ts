/** The API group and version of our kinds. */
export const GROUP = 'etcd.io';
export const VERSION = 'v1alpha1';
export const GROUP_VERSION = `${GROUP}/${VERSION}`;
