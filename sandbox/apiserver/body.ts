/** Request bodies: JSON, YAML (apply patches) and the protobuf kubectl sends for a few kinds. */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { decodeProtobuf } from './protobuf.js';
import { ApiError, badRequest, unsupportedMediaType } from './status.js';

/** The real server's limit on a request body. */
const MAX_BODY = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The media type without parameters, lower case. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (body.length === 0) return undefined;
  if (type === 'application/vnd.kubernetes.protobuf') {
    const decoded = decodeProtobuf(body);
    if (!decoded) throw unsupportedMediaType(['application/json', 'application/yaml']);
    return decoded;
  }
  const text = body.toString('utf8');
  try {
    if (type === 'application/apply-patch+yaml' || type === 'application/yaml')
      return parseYaml(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(
      `the body of the request could not be decoded: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}
