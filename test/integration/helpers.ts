/** Shared helpers for integration tests: fixture paths, raw HTTP, process trees. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Root directory the test hosts resolve relative class references against. */
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Raw JSON request with fetch (for malformed bodies and headers the client would never send). */
export async function raw(
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: leave null, tests look at text */
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Direct children of `pid`, read from /proc (every thread's children list). */
export function childrenOf(pid: number): number[] {
  const out = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) {
        if (c) out.add(Number(c));
      }
    } catch {
      /* thread ended meanwhile */
    }
  }
  return [...out];
}
