/**
 * The Jupyter wire protocol: turning ZeroMQ multipart frames into messages and back,
 * with HMAC signing and verification. Pure functions and a small signer; no sockets here.
 *
 * Frames of one message: [identities..., '<IDS|MSG>', signature, header, parent_header,
 * metadata, content, buffers...]. The signature is the hex HMAC of the four JSON frames.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The delimiter between routing identities and the signed part of a message. */
export const DELIMITER = Buffer.from('<IDS|MSG>');

/** The protocol version this kernel speaks. */
export const PROTOCOL_VERSION = '5.3';

/** A JSON value as it travels in message frames. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** The header every message carries. */
export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [extra: string]: Json;
}

/** A decoded message. `content` is an untrusted object: handlers check the fields they use. */
export interface Message {
  identities: Buffer[];
  header: MessageHeader;
  parent_header: JsonObject;
  metadata: JsonObject;
  content: JsonObject;
  buffers: Buffer[];
}

/** Why a set of frames was rejected. */
export type DecodeFailure = 'no-delimiter' | 'too-few-frames' | 'bad-signature' | 'bad-json' | 'bad-header';

/** The outcome of decoding: a message or the reason it was dropped. */
export type DecodeResult =
  { ok: true; message: Message } | { ok: false; reason: DecodeFailure; detail: string };

/** Signs and verifies with the connection file's key; an empty key disables signing, as the spec allows. */
export class Signer {
  private readonly key: Buffer;
  private readonly algorithm: string;

  constructor(key: string, scheme = 'hmac-sha256') {
    this.key = Buffer.from(key, 'utf8');
    const algorithm = scheme.startsWith('hmac-') ? scheme.slice('hmac-'.length) : scheme;
    if (algorithm !== 'sha256') throw new Error(`unsupported signature scheme: ${scheme}`);
    this.algorithm = algorithm;
  }

  /** Hex signature of the given frames (empty when signing is disabled). */
  sign(frames: readonly Buffer[]): string {
    if (this.key.length === 0) return '';
    const hmac = createHmac(this.algorithm, this.key);
    for (const frame of frames) hmac.update(frame);
    return hmac.digest('hex');
  }

  /** Constant-time check of a signature against the frames. */
  verify(signature: string, frames: readonly Buffer[]): boolean {
    if (this.key.length === 0) return true;
    const expected = Buffer.from(this.sign(frames), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(frame: Buffer): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(frame.toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isHeader(value: JsonObject): value is MessageHeader {
  return typeof value.msg_id === 'string' && typeof value.msg_type === 'string' && value.msg_type.length > 0;
}

/** Decodes multipart frames, verifying the signature before parsing any JSON. */
export function decode(frames: readonly Buffer[], signer: Signer): DecodeResult {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) return { ok: false, reason: 'no-delimiter', detail: `${frames.length} frames, no <IDS|MSG>` };
  if (frames.length < at + 6)
    return { ok: false, reason: 'too-few-frames', detail: `${frames.length} frames` };
  const signature = frames[at + 1].toString('utf8');
  const signed = frames.slice(at + 2, at + 6);
  if (!signer.verify(signature, signed)) {
    return { ok: false, reason: 'bad-signature', detail: `signature ${signature.slice(0, 16)}…` };
  }
  const [header, parent, metadata, content] = signed.map(parseObject);
  if (!header || !parent || !metadata || !content) {
    return { ok: false, reason: 'bad-json', detail: 'a JSON frame is not an object' };
  }
  if (!isHeader(header))
    return { ok: false, reason: 'bad-header', detail: 'header lacks msg_id or msg_type' };
  if (typeof header.session !== 'string') header.session = '';
  if (typeof header.username !== 'string') header.username = '';
  if (typeof header.version !== 'string') header.version = PROTOCOL_VERSION;
  if (typeof header.date !== 'string') header.date = new Date().toISOString();
  return {
    ok: true,
    message: {
      identities: frames.slice(0, at),
      header,
      parent_header: parent,
      metadata,
      content,
      buffers: frames.slice(at + 6),
    },
  };
}

/** Encodes a message into signed frames ready for a socket. */
export function encode(message: Message, signer: Signer): Buffer[] {
  const body = [message.header, message.parent_header, message.metadata, message.content].map((part) =>
    Buffer.from(JSON.stringify(part), 'utf8'),
  );
  const signature = Buffer.from(signer.sign(body), 'utf8');
  return [...message.identities, DELIMITER, signature, ...body, ...message.buffers];
}
