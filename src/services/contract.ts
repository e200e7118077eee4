/**
 * Typed service contracts: a name, a version and operations whose request and reply are
 * TypeBox schemas. Providers route messages through `contract.route()`; callers use a
 * {@link ServiceHandle}. Both sides validate, so a wrong payload fails with a
 * ServiceContractError that names the operation and the field, before any handler runs.
 *
 * ```ts
 * const Greeter = defineContract({
 *   name: 'greeter',
 *   version: '1',
 *   operations: {
 *     greet: { request: Type.Object({ name: Type.String() }), reply: Type.Object({ text: Type.String() }) },
 *   },
 * });
 * // provider:  handleMessage(msg) { return Greeter.route(msg, { greet: ({ name }) => ({ text: `hi ${name}` }) }); }
 * // caller:    const text = (await Greeter.handle(proxy).call('greet', { name: 'ada' })).text;
 * ```
 */
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { NotHandledError, ServiceContractError, ServiceNotFoundError, ValidationError } from '../core/errors.ts';

export interface OperationSpec {
  request?: TSchema;
  reply?: TSchema;
}

type Ops = Record<string, OperationSpec>;
type Req<O extends OperationSpec> = O['request'] extends TSchema ? Static<O['request']> : Record<string, never>;
type Rep<O extends OperationSpec> = O['reply'] extends TSchema ? Static<O['reply']> : unknown;

/** The metadata key that carries a contract's description in service records. */
export const CONTRACT_METADATA_KEY = 'taglets.service_contract';

export interface ContractDescription {
  name: string;
  version: string;
  operations: { name: string; request: unknown; reply: unknown }[];
}

/** Anything that can send a message and wait for the reply (an AgentHandle or AgentProxy). */
export interface MessageTarget {
  send(kind: string, args?: Record<string, unknown>, options?: { priority?: number; timeout?: number; timeoutMs?: number }): Promise<unknown>;
  sendOneway(kind: string, args?: Record<string, unknown>, options?: { priority?: number }): Promise<void>;
}

/** Looks services up and reaches their providers (an agent's context, or a HostClient). */
export interface ServiceFinder {
  findServices(
    name?: string,
    options?: { scope?: 'local' | 'mesh' },
  ): Promise<
    { name: string; proxy: { host_url: string; agent_id: string }; capabilities: string[]; metadata: Record<string, unknown>; resident?: boolean }[]
  >;
  getProxy(ref: { host_url: string; agent_id: string }): MessageTarget;
}

/** The part of a message a contract looks at. */
export interface ContractMessage {
  kind: string;
  args: Record<string, unknown>;
}

const EMPTY = Type.Object({}, { additionalProperties: true });

function describeErrors(errors: Iterable<{ instancePath: string; message: string }>): string {
  const parts: string[] = [];
  for (const e of errors) {
    parts.push(`${e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(root)'} ${e.message}`);
    if (parts.length >= 3) break;
  }
  return parts.join('; ');
}

export class ServiceContract<O extends Ops = Ops> {
  readonly name: string;
  readonly version: string;
  readonly operations: O;
  /** Operation names in declaration order; they are the record's capabilities. */
  readonly capabilities: readonly string[];
  private readonly validators = new Map<string, { request: ReturnType<typeof Compile>; reply: ReturnType<typeof Compile> | null }>();

  constructor(spec: { name: string; version?: string; operations: O }) {
    if (!spec.name || typeof spec.name !== 'string') throw new ValidationError('a service contract needs a name');
    const names = Object.keys(spec.operations);
    if (names.length === 0) throw new ValidationError(`service contract '${spec.name}' needs at least one operation`);
    this.name = spec.name;
    this.version = spec.version ?? '1';
    this.operations = spec.operations;
    this.capabilities = names;
    for (const [op, o] of Object.entries(spec.operations)) {
      this.validators.set(op, { request: Compile(o.request ?? EMPTY), reply: o.reply ? Compile(o.reply) : null });
    }
  }

  /** The message kind of an operation: `<contract>.<operation>`. */
  kindOf(op: string): string {
    return `${this.name}.${op}`;
  }

  describe(): ContractDescription {
    return {
      name: this.name,
      version: this.version,
      operations: this.capabilities.map((op) => ({
        name: op,
        request: this.operations[op]!.request ?? EMPTY,
        reply: this.operations[op]!.reply ?? null,
      })),
    };
  }

  /** Metadata to advertise with a record of this contract. */
  metadata(): Record<string, unknown> {
    return { [CONTRACT_METADATA_KEY]: { name: this.name, version: this.version, operations: [...this.capabilities] } };
  }

  /** Whether a service record offers exactly this contract (name, capabilities and version). */
  matches(record: { name: string; capabilities: readonly string[]; metadata: Record<string, unknown>; resident?: boolean }): boolean {
    const block = record.metadata[CONTRACT_METADATA_KEY] as { name?: string; version?: string; operations?: string[] } | undefined;
    // A resident declaration whose provider has not started yet carries no contract block:
    // the launch config vouches for the name, and the provider's own checks still apply.
    if (!block && record.resident === true) return record.name === this.name;
    return (
      record.name === this.name &&
      record.capabilities.join('\0') === this.capabilities.join('\0') &&
      block?.name === this.name &&
      block.version === this.version &&
      (block.operations ?? []).join('\0') === this.capabilities.join('\0')
    );
  }

  private validator(op: string): { request: ReturnType<typeof Compile>; reply: ReturnType<typeof Compile> | null } {
    const v = this.validators.get(op);
    if (!v) throw new ServiceContractError(`service '${this.name}' v${this.version} has no operation '${op}' (operations: ${this.capabilities.join(', ')})`);
    return v;
  }

  checkRequest(op: string, value: unknown): void {
    const v = this.validator(op).request;
    if (!v.Check(value)) throw new ServiceContractError(`${this.name}.${op} request: ${describeErrors(v.Errors(value))}`);
  }

  checkReply(op: string, value: unknown): void {
    const v = this.validator(op).reply;
    if (v && !v.Check(value)) throw new ServiceContractError(`${this.name}.${op} reply: ${describeErrors(v.Errors(value))}`);
  }

  /** The operation a message asks for, or undefined when the message is not for this contract. */
  operationOf(message: ContractMessage): string | undefined {
    const prefix = `${this.name}.`;
    if (!message.kind.startsWith(prefix)) return undefined;
    return message.kind.slice(prefix.length);
  }

  /**
   * Routes a message to the handler of its operation, validating request and reply. Messages
   * of other kinds go to `fallback`, or are declined (NotHandledError).
   */
  async route(
    message: ContractMessage,
    handlers: { [K in keyof O]: (request: Req<O[K]>, message: ContractMessage) => Rep<O[K]> | Promise<Rep<O[K]>> },
    fallback?: (message: ContractMessage) => unknown,
  ): Promise<unknown> {
    const op = this.operationOf(message);
    if (op === undefined || !(op in handlers)) {
      if (fallback) return fallback(message);
      throw new NotHandledError(`service '${this.name}' does not handle message kind '${message.kind}'`);
    }
    const request = message.args.request ?? {};
    this.checkRequest(op, request);
    const reply = await handlers[op as keyof O](request as never, message);
    this.checkReply(op, reply);
    return reply;
  }

  /**
   * Finds a provider of exactly this contract (name, operations and version) and returns a
   * typed handle on it. Works with an agent's `this.context` and with a `HostClient`.
   */
  async find(finder: ServiceFinder, options: { scope?: 'local' | 'mesh' } = {}): Promise<ServiceHandle<O>> {
    const records = await finder.findServices(this.name, options.scope ? { scope: options.scope } : {});
    const match = records.find((r) => this.matches(r));
    if (!match) {
      const versions = records
        .map((r) => (r.metadata[CONTRACT_METADATA_KEY] as { version?: string } | undefined)?.version)
        .filter((v) => v !== undefined);
      throw new ServiceNotFoundError(
        `no provider of service '${this.name}' v${this.version}${options.scope === 'mesh' ? ' in the mesh' : ' on this host'}` +
          (versions.length ? ` (found versions: ${[...new Set(versions)].join(', ')})` : ''),
      );
    }
    return this.handle(finder.getProxy(match.proxy));
  }

  /** A typed client over any message target (an agent handle inside agents, a proxy outside). */
  handle(target: MessageTarget): ServiceHandle<O> {
    return new ServiceHandle(this, target);
  }
}

export class ServiceHandle<O extends Ops = Ops> {
  readonly contract: ServiceContract<O>;
  readonly target: MessageTarget;
  constructor(contract: ServiceContract<O>, target: MessageTarget) {
    this.contract = contract;
    this.target = target;
  }
  /** Calls an operation: the request is checked before sending, the reply after receiving. */
  async call<K extends keyof O & string>(op: K, request: Req<O[K]>, options: { timeoutMs?: number } = {}): Promise<Rep<O[K]>> {
    this.contract.checkRequest(op, request);
    const reply = await this.target.send(this.contract.kindOf(op), { request }, { ...options, timeout: options.timeoutMs });
    this.contract.checkReply(op, reply);
    return reply as Rep<O[K]>;
  }
  /** Sends an operation without waiting for its reply. */
  async sendOneway<K extends keyof O & string>(op: K, request: Req<O[K]>): Promise<void> {
    this.contract.checkRequest(op, request);
    await this.target.sendOneway(this.contract.kindOf(op), { request });
  }
}

export function defineContract<O extends Ops>(spec: { name: string; version?: string; operations: O }): ServiceContract<O> {
  return new ServiceContract(spec);
}
