/** The visitor REST API (protocol §6) over fetch, and file uploads over XHR for progress events. */

import { ApiError, NETWORK_ERROR, errorFromResponse } from "../lib/errors";
import type { Attachment, EventsPage, Message, SessionResponse, Visitor } from "../lib/protocol";

export interface SessionRequest {
  user_id?: string;
  hash?: string;
  name?: string;
  email?: string;
  locale?: string;
  page_url?: string;
}

export interface MessageReply {
  message: Message;
  seq: number | null;
}

export interface Upload {
  promise: Promise<Attachment>;
  abort(): void;
}

const EVENTS_PAGE = 200;

export class ApiClient {
  token: string | null = null;

  constructor(
    private readonly base: string,
    private readonly widgetKey: string,
  ) {}

  private url(path: string): string {
    return new URL(`api/v1/${path}`, this.base).href;
  }

  private headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = {};
    if (json) headers["Content-Type"] = "application/json";
    if (this.token) headers["Authorization"] = `Bearer ${this.token}`;
    return headers;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? null : JSON.stringify(body),
        credentials: "omit",
        mode: "cors",
      });
    } catch (error) {
      throw new ApiError(NETWORK_ERROR, String(error), 0);
    }
    const data: unknown = await response.json().catch(() => null);
    if (!response.ok) throw errorFromResponse(response.status, data, response.headers.get("Retry-After"));
    return data as T;
  }

  createSession(body: SessionRequest): Promise<SessionResponse> {
    return this.request("POST", `widgets/${encodeURIComponent(this.widgetKey)}/sessions`, body);
  }

  /** Every event after `after`, following `has_more` (protocol §6.2). */
  async eventsAfter(after: number): Promise<EventsPage> {
    const page = await this.request<EventsPage>("GET", `conversation/events?after=${after}&limit=${EVENTS_PAGE}`);
    const last = page.events[page.events.length - 1];
    if (!page.has_more || last === undefined) return page;
    const rest = await this.eventsAfter(last.seq);
    return { events: [...page.events, ...rest.events], last_seq: rest.last_seq, has_more: false };
  }

  sendMessage(clientMessageId: string, text: string, attachmentIds: string[]): Promise<MessageReply> {
    return this.request("POST", "conversation/messages", { client_message_id: clientMessageId, text, attachment_ids: attachmentIds });
  }

  editMessage(messageId: string, text: string): Promise<MessageReply> {
    return this.request("PATCH", `conversation/messages/${encodeURIComponent(messageId)}`, { text });
  }

  deleteMessage(messageId: string): Promise<MessageReply> {
    return this.request("DELETE", `conversation/messages/${encodeURIComponent(messageId)}`);
  }

  markRead(seq: number): Promise<{ read_seq: number }> {
    return this.request("POST", "conversation/read", { seq });
  }

  updateProfile(profile: { name?: string; email?: string }): Promise<{ visitor: Visitor }> {
    return this.request("POST", "conversation/profile", profile);
  }

  /** Upload one file; `onProgress` gets 0–100. */
  upload(file: File, onProgress: (percent: number) => void): Upload {
    const xhr = new XMLHttpRequest();
    const promise = new Promise<Attachment>((resolve, reject) => {
      xhr.open("POST", this.url("conversation/files"));
      if (this.token) xhr.setRequestHeader("Authorization", `Bearer ${this.token}`);
      xhr.responseType = "json";
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
      };
      xhr.onload = () => {
        const data: unknown = xhr.response;
        if (xhr.status >= 200 && xhr.status < 300) resolve((data as { attachment: Attachment }).attachment);
        else reject(errorFromResponse(xhr.status, data, xhr.getResponseHeader("Retry-After")));
      };
      xhr.onerror = () => reject(new ApiError(NETWORK_ERROR, "upload failed", 0));
      xhr.onabort = () => reject(new ApiError("aborted", "upload aborted", 0));
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
    return { promise, abort: () => xhr.abort() };
  }
}
