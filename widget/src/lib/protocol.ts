/** Types of the visitor protocol v1 (docs/protocol.md); the widget's only model of the server. */

export type Direction = "visitor" | "operator";
export type ServerStatus = "queued" | "sent" | "delivered" | "read" | "failed";
/** `sending` exists only on the client (protocol §4.4). */
export type MessageStatus = "sending" | ServerStatus;

export interface Failure {
  code: string;
  message: string;
}

export interface Author {
  name: string | null;
  avatar_url: string | null;
}

export interface Attachment {
  id: string;
  name: string;
  mime: string;
  size: number;
  url: string;
  url_expires_at?: string;
  width: number | null;
  height: number | null;
}

/** A node of the rich-text tree (protocol §4.2). Unknown types are tolerated. */
export interface RichNode {
  type: string;
  text?: string;
  href?: string;
  children?: RichNode[];
}

export interface Message {
  id: string;
  client_message_id: string | null;
  direction: Direction;
  author: Author;
  text: string;
  rich: RichNode[] | null;
  attachments: Attachment[];
  status: ServerStatus;
  failure: Failure | null;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
}

export interface StatusPayload {
  message_id: string;
  status: ServerStatus;
  failure: Failure | null;
}

export type ConversationEvent =
  | { seq: number; kind: "message.created" | "message.edited" | "message.deleted"; at: string; payload: { message: Message } }
  | { seq: number; kind: "message.status"; at: string; payload: StatusPayload }
  | { seq: number; kind: "session.opened" | "session.closed"; at: string; payload: Record<string, never> }
  | { seq: number; kind: "conversation.read"; at: string; payload: { read_seq: number } };

export interface WidgetConfig {
  title: string;
  greeting: string;
  language: string;
  theme: string;
  position: string;
  accent_color: string;
  prechat_form: boolean;
}

export interface Limits {
  message_max_chars: number;
  file_max_bytes: number;
  file_types: string[];
  attachments_per_message: number;
}

export interface Visitor {
  name: string | null;
  email: string | null;
  identified: boolean;
}

export interface ConversationState {
  id: string;
  state: "open" | "closed";
  last_seq: number;
  read_seq: number;
}

export interface SessionResponse {
  token: string;
  visitor: Visitor;
  conversation: ConversationState;
  config: WidgetConfig;
  limits: Limits;
  live: { url: string; heartbeat_interval: number };
}

export interface EventsPage {
  events: ConversationEvent[];
  last_seq: number;
  has_more: boolean;
}

/** Signed identity passed to `setUser` (protocol §2.2). */
export interface Identity {
  user_id: string;
  hash: string;
  name?: string;
  email?: string;
}

/** Frames the server sends on the live connection (protocol §7). */
export type ServerFrame =
  | { type: "ready"; last_seq: number; heartbeat_interval: number }
  | { type: "event"; event: ConversationEvent }
  | { type: "ping" }
  | { type: "pong" }
  | { type: "error"; error: Failure };
