import { randomUUID } from 'node:crypto';

/** A new agent or message id: 32 lowercase hex characters (a uuid4 without dashes). */
export function newId(): string {
  return randomUUID().replaceAll('-', '');
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Agent ids chosen by users: 1–128 of letters, digits, `.`, `_`, `:`, `-`, not starting with a symbol. */
export function isValidAgentId(id: string): boolean {
  return ID_PATTERN.test(id);
}
export const AGENT_ID_PATTERN = ID_PATTERN.source;
