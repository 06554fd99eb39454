/** Errors of the visitor API as one type (protocol §3), and which of them are worth retrying. */

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Status 0: the request never got an HTTP answer (offline, DNS, CORS refusal, abort). */
export const NETWORK_ERROR = "network_error";

/** Turn an HTTP error response into an ApiError, tolerating bodies that are not the envelope. */
export function errorFromResponse(status: number, body: unknown, retryAfterHeader: string | null): ApiError {
  const envelope = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  const fields = typeof envelope === "object" && envelope !== null ? (envelope as Record<string, unknown>) : {};
  const code = typeof fields["code"] === "string" ? fields["code"] : status >= 500 ? "internal_error" : `http_${status}`;
  const message = typeof fields["message"] === "string" ? fields["message"] : `HTTP ${status}`;
  const retryAfter = parseRetryAfter(retryAfterHeader) ?? (typeof fields["retry_after"] === "number" ? fields["retry_after"] : null);
  return new ApiError(code, message, status, retryAfter);
}

function parseRetryAfter(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header.trim());
}

/** Transient failures: the same request may succeed later (network, 5xx, rate limit). */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  return error.code === NETWORK_ERROR || error.status >= 500 || error.code === "rate_limited";
}
