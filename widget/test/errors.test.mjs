import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, errorFromResponse, isRetryable } from "../.test-build/lib.mjs";

test("the error envelope becomes an ApiError", () => {
  const e = errorFromResponse(400, { error: { code: "message_too_long", message: "too long" } }, null);
  assert.ok(e instanceof ApiError);
  assert.equal(e.code, "message_too_long");
  assert.equal(e.message, "too long");
  assert.equal(e.status, 400);
});

test("Retry-After comes from the header, else the body", () => {
  assert.equal(errorFromResponse(429, { error: { code: "rate_limited", message: "", retry_after: 9 } }, "3").retryAfterSeconds, 3);
  assert.equal(errorFromResponse(429, { error: { code: "rate_limited", message: "", retry_after: 9 } }, null).retryAfterSeconds, 9);
  assert.equal(errorFromResponse(429, null, "Wed, 21 Oct 2015 07:28:00 GMT").retryAfterSeconds, null);
});

test("bodies that are not the envelope still give a code", () => {
  assert.equal(errorFromResponse(502, "<html>", null).code, "internal_error");
  assert.equal(errorFromResponse(418, null, null).code, "http_418");
});

test("network errors, 5xx and rate limits are retryable; refusals are not", () => {
  assert.equal(isRetryable(new ApiError("network_error", "", 0)), true);
  assert.equal(isRetryable(new ApiError("internal_error", "", 503)), true);
  assert.equal(isRetryable(new ApiError("rate_limited", "", 429)), true);
  assert.equal(isRetryable(new ApiError("validation_error", "", 400)), false);
  assert.equal(isRetryable(new Error("x")), false);
});
