/**
 * `taglets/services`: typed service contracts (TypeBox). Kept out of the root `taglets` entry so
 * agents that do not define contracts do not load TypeBox (hundreds of modules) in every
 * agent process.
 *
 * ```ts
 * import { Type, defineContract } from 'taglets/services';
 * export const Greeter = defineContract({ name: 'greeter', operations: { greet: { request: Type.Object({ name: Type.String() }) } } });
 * ```
 */
export { CONTRACT_METADATA_KEY, ServiceContract, ServiceHandle, defineContract } from './services/contract.ts';
export type { ContractMessage, MessageTarget, OperationSpec, ServiceFinder } from './services/contract.ts';
/** TypeBox, for contract schemas: `Type.Object({ name: Type.String() })`. */
export { default as Type } from 'typebox';
export type { Static, TSchema } from 'typebox';
