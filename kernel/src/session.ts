/**
 * Message construction for one kernel session: fresh headers with unique ids, replies that
 * carry their request's header as parent and its routing identities.
 */
import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type JsonObject, type Message, type MessageHeader } from './wire';

/** Builds outgoing messages that belong to this kernel's session. */
export class Session {
  readonly id = randomUUID();
  readonly username: string;

  constructor(username = 'kernel') {
    this.username = username;
  }

  /** A new header of the given type. */
  header(msgType: string): MessageHeader {
    return {
      msg_id: randomUUID(),
      session: this.id,
      username: this.username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
  }

  /**
   * A message of `msgType` whose parent is `parent` (a request or an empty object for unsolicited
   * messages). Replies on ROUTER sockets must pass the request's identities.
   */
  message(
    msgType: string,
    content: JsonObject,
    parent: MessageHeader | JsonObject,
    options: { identities?: Buffer[]; metadata?: JsonObject; buffers?: Buffer[] } = {},
  ): Message {
    return {
      identities: options.identities ?? [],
      header: this.header(msgType),
      parent_header: parent as JsonObject,
      metadata: options.metadata ?? {},
      content,
      buffers: options.buffers ?? [],
    };
  }

  /** The reply to `request`: type `<x>_reply`, same identities, parent = request header. */
  reply(request: Message, content: JsonObject, metadata: JsonObject = {}): Message {
    const type = request.header.msg_type.replace(/_request$/, '_reply');
    return this.message(type, content, request.header, { identities: request.identities, metadata });
  }
}
