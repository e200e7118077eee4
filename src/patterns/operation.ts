/**
 * The Operation pattern: an agent whose messages are the operations of a typed contract.
 * Routing, request and reply validation come from the contract; the agent only supplies one
 * handler per operation, and a fallback for other message kinds.
 *
 * ```ts
 * const Calc = defineContract({ name: 'calc', version: '1', operations: {
 *   add: { request: Type.Object({ a: Type.Number(), b: Type.Number() }), reply: Type.Number() },
 * } });
 * export class CalcAgent extends OperationAgent<typeof Calc.operations> {
 *   readonly contract = Calc;
 *   static override advertiseScope = 'local' as const;   // optional: advertise in run()
 *   operationHandlers() { return { add: ({ a, b }) => a + b }; }
 * }
 * // caller
 * const calc = await OperationClient.find(Calc, host);        // or new OperationClient(Calc, proxy)
 * await calc.call('add', { a: 1, b: 2 });                     // 3
 * ```
 */
import { Agent, type ServiceInfo } from '../core/agent.ts';
import type { Message } from '../core/message.ts';
import {
  ServiceHandle,
  type MessageTarget,
  type OperationSpec,
  type ServiceContract,
  type ServiceFinder,
} from '../services/contract.ts';

/** The operations of a contract: name → request/reply schemas. */
export type Operations = Record<string, OperationSpec>;

/** One handler per operation of `O`, typed by its request and reply schemas. */
export type OperationHandlers<O extends Operations> = Parameters<ServiceContract<O>['route']>[1];

/** Request type of operation `K` of `O`. */
export type OperationRequest<O extends Operations, K extends keyof O & string> = Parameters<OperationHandlers<O>[K]>[0];

/** Reply type of operation `K` of `O`. */
export type OperationReply<O extends Operations, K extends keyof O & string> = Awaited<ReturnType<OperationHandlers<O>[K]>>;

/**
 * Base class of agents that serve a contract. Set `contract` (an instance field), implement
 * `operationHandlers()`, and optionally `handleFallback()` for other message kinds.
 */
export abstract class OperationAgent<O extends Operations, S extends object = Record<string, unknown>> extends Agent<S> {
  /** Advertise the contract in `run()` (after creation, arrival, clone and activation); null: don't. */
  static advertiseScope: 'local' | 'mesh' | null = null;

  /** The contract this agent serves. */
  abstract readonly contract: ServiceContract<O>;

  /** One handler per operation; called for every message of the contract's kinds. */
  abstract operationHandlers(): OperationHandlers<O>;

  /** Messages outside the contract; declined (NotHandledError, HTTP 422) by default. */
  handleFallback(message: Message): unknown {
    return this.notHandled(message.kind);
  }

  override handleMessage(message: Message): unknown {
    return this.contract.route(message, this.operationHandlers(), () => this.handleFallback(message));
  }

  /** Advertises the contract's service record for this agent (name, operations, metadata). */
  advertiseOperations(options: { scope?: 'local' | 'mesh'; ttl?: number | null } = {}): Promise<ServiceInfo> {
    return this.context.advertise(this.contract.name, {
      capabilities: [...this.contract.capabilities],
      metadata: this.contract.metadata(),
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
    });
  }

  /** Advertises the contract when the class sets `advertiseScope`; subclasses overriding `run` call `super.run()`. */
  override async run(): Promise<void> {
    const scope = (this.constructor as typeof OperationAgent).advertiseScope;
    if (scope) await this.advertiseOperations({ scope });
  }
}

/**
 * A typed caller of a contract's operations, over any message target: an `AgentProxy`
 * (outside agents) or an `AgentHandle` (inside agents, from `this.context.getProxy`).
 */
export class OperationClient<O extends Operations> {
  readonly handle: ServiceHandle<O>;

  constructor(contract: ServiceContract<O>, target: MessageTarget) {
    this.handle = new ServiceHandle(contract, target);
  }

  /** Finds a provider of exactly this contract (via a HostClient or an agent's context). */
  static async find<O extends Operations>(
    contract: ServiceContract<O>,
    finder: ServiceFinder,
    options: { scope?: 'local' | 'mesh' } = {},
  ): Promise<OperationClient<O>> {
    const handle = await contract.find(finder, options);
    return new OperationClient(contract, handle.target);
  }

  get contract(): ServiceContract<O> {
    return this.handle.contract;
  }

  /** Calls an operation and waits for its reply (both checked against the contract). */
  async call<K extends keyof O & string>(
    op: K,
    request: OperationRequest<O, K>,
    options: { timeoutMs?: number } = {},
  ): Promise<OperationReply<O, K>> {
    return (await this.handle.call(op, request as never, options)) as OperationReply<O, K>;
  }

  /** Sends an operation without waiting for its handler (the request is still checked). */
  sendOneway<K extends keyof O & string>(op: K, request: OperationRequest<O, K>): Promise<void> {
    return this.handle.sendOneway(op, request as never);
  }
}
