import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenStore, tokenKey } from "../.test-build/lib.mjs";

function memoryStorage() {
  const map = new Map();
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k), map };
}

test("the token is kept per widget key", () => {
  const storage = memoryStorage();
  const a = new TokenStore(() => storage, tokenKey("A"));
  const b = new TokenStore(() => storage, tokenKey("B"));
  a.set("tok-a");
  assert.equal(a.get(), "tok-a");
  assert.equal(b.get(), null);
  assert.equal(storage.map.get("openline-bridge:A:token"), "tok-a");
  a.set(null);
  assert.equal(a.get(), null);
});

test("blocked storage falls back to memory for the page's lifetime", () => {
  const blocked = new TokenStore(() => {
    throw new Error("SecurityError");
  }, tokenKey("A"));
  blocked.set("tok");
  assert.equal(blocked.get(), "tok");
  const full = new TokenStore(() => ({ getItem: () => null, setItem: () => { throw new Error("QuotaExceeded"); }, removeItem() {} }), tokenKey("A"));
  full.set("tok2");
  assert.equal(full.get(), "tok2");
  const absent = new TokenStore(() => null, tokenKey("A"));
  absent.set("tok3");
  assert.equal(absent.get(), "tok3");
});
