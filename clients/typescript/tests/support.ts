/**
 * What every TypeScript test shares: the generated client pointed at the API under test
 * (`API_BASE_URL`, set by tests/test_typescript_client.py), a bearer token, and `ok()`.
 */
import assert from "node:assert/strict";

import { client } from "../src";

export const baseUrl = process.env.API_BASE_URL ?? "http://127.0.0.1:8000";

let accessToken: string | undefined;

/** Point the SDK at the API; every secured operation then sends `Authorization: Bearer <token>`. */
export function configureClient(): void {
  client.setConfig({ baseUrl, auth: () => accessToken });
}

export function signIn(token: string): void {
  accessToken = token;
}

/** The SDK's result without a throw: `data` on success, a typed `error` otherwise. */
type Result<T> = { data?: T; error?: unknown; response?: Response };

/** The body of a successful call, or a failure that shows the problem details the API sent. */
export function ok<T>(result: Result<T>, status?: number): T {
  const actual = result.response?.status;
  assert.ok(
    result.error === undefined && result.data !== undefined,
    `expected success, got ${actual}: ${JSON.stringify(result.error)}`,
  );
  if (status !== undefined) {
    assert.equal(actual, status);
  }
  return result.data as T;
}

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}
