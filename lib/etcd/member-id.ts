/**
 * etcd member IDs are uint64: a JS number silently corrupts them. At every boundary of this
 * library they are 16-digit lower-case hex strings, as etcdctl prints them; etcd3 speaks decimal.
 */
import { NotFoundError, UsageError } from '../errors.js';

const UINT64_MAX = (1n << 64n) - 1n;
const HEX_ID = /^(?:0x)?([0-9a-f]{1,16})$/i;

/** A decimal uint64 (as etcd3 returns it) or a bigint, as 16-digit hex. */
export function formatMemberId(id: string | bigint): string {
  const value = typeof id === 'bigint' ? id : BigInt(id);
  if (value < 0n || value > UINT64_MAX) throw new RangeError(`member ID ${id} is not a uint64`);
  return value.toString(16).padStart(16, '0');
}

/** Parses hex as a user types it (`8e9e05c52164694d`, `0x…`, without leading zeros) to 16-digit hex. */
export function parseMemberId(text: string): string {
  const hex = HEX_ID.exec(text.trim())?.[1];
  if (hex === undefined) throw new UsageError(`"${text}" is not a member ID (up to 16 hex digits)`);
  return formatMemberId(BigInt(`0x${hex}`));
}

/** True when `text` reads as a member ID. */
export function isMemberId(text: string): boolean {
  return HEX_ID.test(text.trim());
}

/** The decimal form etcd3 sends for a uint64 field. */
export function memberIdToDecimal(hexId: string): string {
  return BigInt(`0x${parseMemberId(hexId)}`).toString(10);
}

/**
 * The member a person named: by name first (names are what people see), then by hex ID. Throws a
 * NotFoundError listing what exists when nothing matches, a UsageError when a name is ambiguous.
 */
export function resolveMember<M extends { id: string; name: string }>(members: readonly M[], ref: string): M {
  const byName = members.filter((m) => m.name !== '' && m.name === ref);
  if (byName.length > 1)
    throw new UsageError(`${byName.length} members are named "${ref}": name one by its ID`);
  if (byName[0]) return byName[0];
  if (isMemberId(ref)) {
    const id = parseMemberId(ref);
    const byId = members.find((m) => m.id === id);
    if (byId) return byId;
  }
  const known = members.map((m) => (m.name ? `${m.name} (${m.id})` : m.id)).join(', ');
  throw new NotFoundError(`no member "${ref}"; members: ${known || 'none'}`);
}
