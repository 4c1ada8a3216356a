/**
 * What an etcd snapshot holds, read from its bolt database the way `etcdutl snapshot status` does:
 * the CRC-32C hash over every bucket's name, keys and values (etcdutl's HASH), the store's latest
 * revision, the number of live keys, the database size and the storage version. etcd's tools count
 * TOTAL KEYS two ways: etcdutl 3.6 the live keys of the keyspace, etcdutl 3.5 and etcdctl 3.4 every
 * key of every bucket (revisions, tombstones, members, meta); both counts are here.
 *
 * bbolt's layout (go.etcd.io/bbolt, little-endian): page N starts at N × pageSize with a 16-byte
 * header {id u64, flags u16, count u16, overflow u32}; pages 0 and 1 are meta pages {magic,
 * version, pageSize, flags, root {pgid, sequence}, freelist, pgid, txid, checksum}, the valid one
 * with the higher txid wins; branch elements are {pos u32, ksize u32, pgid u64}, leaf elements
 * {flags u32, pos u32, ksize u32, vsize u32} with `pos` counted from the element. A leaf element
 * flagged as a bucket holds {root pgid, sequence}, and root 0 means the bucket's page follows inline.
 */
import { open } from 'node:fs/promises';
import CRC32C from 'crc-32/crc32c.js';
import { SnapshotIntegrityError } from '../lib/errors.js';

export interface SnapshotContent {
  /** etcdutl's hash: CRC-32C over bucket names, keys and values, in order. */
  hash: number;
  /** The main revision of the newest key-value. */
  revision: number;
  /** Keys whose latest revision is not a deletion: etcdutl 3.6's TOTAL KEYS. */
  totalKeys: number;
  /** Every key of every bucket: TOTAL KEYS of etcdutl 3.5 and etcdctl 3.4. */
  bucketKeys: number;
  /** The database's size: its high-water page times the page size. */
  totalSize: number;
  /** The storage version etcd 3.6 records; absent before. */
  storageVersion?: string;
}

const MAGIC = 0xed0cdaed;
const PAGE_HEADER = 16;
const ELEMENT = 16;
const BRANCH = 0x01;
const LEAF = 0x02;
const BUCKET_LEAF = 0x01;

/** Reads `dbSize` bytes of `file` (the database without the snapshot's digest trailer). */
export async function readSnapshotContent(file: string, dbSize: number): Promise<SnapshotContent> {
  const handle = await open(file, 'r');
  try {
    const data = Buffer.alloc(dbSize);
    await handle.read(data, 0, dbSize, 0);
    return snapshotContent(data);
  } finally {
    await handle.close();
  }
}

export function snapshotContent(db: Buffer): SnapshotContent {
  const reader = new BoltReader(db);
  let hash = 0;
  let revision = 0;
  let bucketKeys = 0;
  const live = new Set<string>();
  let storageVersion: string | undefined;
  for (const { key: name, bucket } of reader.entries(reader.rootPage())) {
    if (bucket === undefined) continue;
    hash = CRC32C.buf(name, hash);
    const isKeyBucket = name.toString() === 'key';
    for (const { key, value } of reader.entries(bucket)) {
      if (value === undefined) continue;
      bucketKeys++;
      hash = CRC32C.buf(value, CRC32C.buf(key, hash));
      if (isKeyBucket && key.length >= 17) {
        revision = Number(key.readBigUInt64BE(0));
        const userKey = protobufBytesField1(value).toString('latin1');
        // A revision key ending in 't' records a deletion (mvcc's tombstone mark).
        if (key.length === 18 && key[17] === 0x74) live.delete(userKey);
        else live.add(userKey);
      }
      if (name.toString() === 'meta' && key.toString() === 'storageVersion')
        storageVersion = value.toString();
    }
  }
  return {
    hash: hash >>> 0,
    revision,
    totalKeys: live.size,
    bucketKeys,
    totalSize: reader.totalSize,
    ...(storageVersion ? { storageVersion } : {}),
  };
}

/** Where a page lives: in the file (its number) or inline in a bucket's value. */
type PageRef = number | Buffer;

class BoltReader {
  readonly pageSize: number;
  readonly totalSize: number;
  private readonly root: number;

  constructor(private readonly db: Buffer) {
    const first = this.meta(0, db.length >= 40 ? db.readUInt32LE(PAGE_HEADER + 8) : 0);
    const pageSize = first?.pageSize ?? 4096;
    const second = this.meta(pageSize, pageSize);
    const meta = [first, second]
      .filter((m): m is NonNullable<typeof m> => m !== undefined)
      .sort((a, b) => Number(b.txid - a.txid))[0];
    if (!meta) throw new SnapshotIntegrityError('not a bolt database: no valid meta page');
    this.pageSize = meta.pageSize;
    this.root = meta.root;
    this.totalSize = meta.pgid * meta.pageSize;
  }

  rootPage(): PageRef {
    return this.root;
  }

  /** Every key below `ref`, in key order, with its value or, for a nested bucket, its root page. */
  *entries(ref: PageRef): Generator<{ key: Buffer; value?: Buffer; bucket?: PageRef }> {
    const page = this.page(ref);
    const flags = page.readUInt16LE(8);
    const count = page.readUInt16LE(10);
    for (let i = 0; i < count; i++) {
      const at = PAGE_HEADER + i * ELEMENT;
      if (flags & BRANCH) {
        yield* this.entries(Number(page.readBigUInt64LE(at + 8)));
      } else if (flags & LEAF) {
        const elementFlags = page.readUInt32LE(at);
        const start = at + page.readUInt32LE(at + 4);
        const key = page.subarray(start, start + page.readUInt32LE(at + 8));
        const value = page.subarray(start + key.length, start + key.length + page.readUInt32LE(at + 12));
        yield elementFlags & BUCKET_LEAF ? { key, bucket: this.bucketRoot(value) } : { key, value };
      } else {
        throw new SnapshotIntegrityError(
          `bolt page ${page.readBigUInt64LE(0)} is neither a branch nor a leaf`,
        );
      }
    }
  }

  private bucketRoot(header: Buffer): PageRef {
    const root = Number(header.readBigUInt64LE(0));
    return root === 0 ? header.subarray(16) : root;
  }

  private page(ref: PageRef): Buffer {
    if (typeof ref !== 'number') return ref;
    const start = ref * this.pageSize;
    if (start + PAGE_HEADER > this.db.length) {
      throw new SnapshotIntegrityError(`bolt page ${ref} lies beyond the end of the database`);
    }
    const overflow = this.db.readUInt32LE(start + 12);
    return this.db.subarray(start, start + (overflow + 1) * this.pageSize);
  }

  private meta(offset: number, pageSize: number) {
    if (offset + PAGE_HEADER + 64 > this.db.length || pageSize === 0) return undefined;
    const m = this.db.subarray(offset + PAGE_HEADER, offset + PAGE_HEADER + 64);
    if (m.readUInt32LE(0) !== MAGIC || m.readBigUInt64LE(56) !== fnv64a(m.subarray(0, 56))) return undefined;
    return {
      pageSize: m.readUInt32LE(8),
      root: Number(m.readBigUInt64LE(16)),
      pgid: Number(m.readBigUInt64LE(40)),
      txid: m.readBigUInt64LE(48),
    };
  }
}

/** bbolt checksums its meta pages with 64-bit FNV-1a. */
function fnv64a(data: Buffer): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of data) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return hash;
}

/** Field 1 (bytes) of a protobuf message: an mvccpb.KeyValue's key. */
function protobufBytesField1(message: Buffer): Buffer {
  let at = 0;
  while (at < message.length) {
    const [tag, afterTag] = varint(message, at);
    const [length, start] = tag % 8 === 2 ? varint(message, afterTag) : [0, afterTag];
    if (tag === 0x0a) return message.subarray(start, start + length);
    if (tag % 8 === 0) at = varint(message, afterTag)[1];
    else if (tag % 8 === 2) at = start + length;
    else at = afterTag + (tag % 8 === 1 ? 8 : 4);
  }
  return Buffer.alloc(0);
}

function varint(data: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let i = at;
  for (; i < data.length; i++) {
    const byte = data[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, i + 1];
  }
  return [value, i];
}
