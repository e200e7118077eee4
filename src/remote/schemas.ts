/**
 * TypeBox schemas of every HTTP body and query the host accepts. Fastify validates requests
 * against them before a handler runs, and `/openapi.json` is generated from them.
 */
import Type, { type Static } from 'typebox';
import { AGENT_ID_PATTERN } from '../core/ids.ts';

export const AgentRefSchema = Type.Object(
  { host_url: Type.String({ minLength: 1 }), agent_id: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
);

export const AgentIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export type AgentIdParams = Static<typeof AgentIdParams>;

export const CreateAgentBody = Type.Object(
  {
    agent_class: Type.String({
      minLength: 3,
      maxLength: 2048,
      description: "Class reference '<specifier>#<Export>', e.g. './agents/counter.js#Counter'",
    }),
    state: Type.Optional(Type.Unknown({ description: 'Initial state, merged over the class defaultState' })),
    init: Type.Optional(Type.Unknown({ description: 'Value passed to onCreation(init)' })),
    agent_id: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN, description: 'Chosen id; 409 if taken' })),
    runner: Type.Optional(Type.Union([Type.Literal('process'), Type.Literal('inline')])),
  },
  { additionalProperties: false },
);
export type CreateAgentBody = Static<typeof CreateAgentBody>;

export const MessageSchema = Type.Object(
  {
    kind: Type.String({ minLength: 1, maxLength: 256 }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    arg: Type.Optional(Type.Unknown()),
    sender: Type.Optional(Type.Union([AgentRefSchema, Type.Null()])),
    reply_to: Type.Optional(Type.Union([AgentRefSchema, Type.Null()])),
    priority: Type.Optional(Type.Number({ description: '1 (lowest) .. 10 (highest); clamped' })),
    message_type: Type.Optional(
      Type.Union([
        Type.Literal('sync'),
        Type.Literal('future'),
        Type.Literal('oneway'),
        Type.Literal(0),
        Type.Literal(1),
        Type.Literal(2),
      ]),
    ),
    timestamp: Type.Optional(Type.Number()),
    message_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

export const SendMessageBody = Type.Object(
  {
    message: MessageSchema,
    oneway: Type.Optional(Type.Boolean({ default: false })),
    activate_if_inactive: Type.Optional(Type.Boolean({ default: true })),
    no_delay: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export type SendMessageBody = Static<typeof SendMessageBody>;

const UintString = Type.String({ pattern: '^[0-9]{1,15}$' });

export const EventsQuery = Type.Object({
  since: Type.Optional(UintString),
  limit: Type.Optional(UintString),
});
export type EventsQuery = Static<typeof EventsQuery>;

export const ListAgentsQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('inactive'), Type.Literal('all')])),
  include_state: Type.Optional(Type.String({ pattern: '^(1|0|true|false|yes|no)$' })),
});
export type ListAgentsQuery = Static<typeof ListAgentsQuery>;

export const TicketSchema = Type.Object(
  {
    destination: Type.String({ minLength: 1, description: 'Mesh host name or URL' }),
    timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Seconds per attempt (default 10)' })),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    retry_interval: Type.Optional(Type.Number({ minimum: 0 })),
    required_capabilities: Type.Optional(Type.Array(Type.String())),
    expected_code_version: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    arrival_mode: Type.Optional(Type.Union([Type.Literal('activate'), Type.Literal('inactive')])),
  },
  { additionalProperties: false },
);

export const MoveBody = Type.Object(
  {
    target: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
    ticket: Type.Optional(TicketSchema),
  },
  { additionalProperties: false },
);
export type MoveBody = Static<typeof MoveBody>;

const Count = Type.Number({ minimum: 0 });

/**
 * A host of the mesh (`POST /hosts/join` body). Fields beyond these are allowed (peers of a
 * newer release may send more) and dropped when stored.
 */
export const HostRefSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    url: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' }),
    code_version: Type.String({ minLength: 1, maxLength: 256, description: 'Mesh version; must equal the receiver\'s' }),
    online: Type.Optional(Type.Boolean()),
    last_seen: Type.Optional(Type.Number()),
    active_count: Type.Optional(Count),
    inactive_count: Type.Optional(Count),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 256 })),
    properties: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 4096 }))),
    error: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    cpu_count: Type.Optional(Count),
    load_per_cpu: Type.Optional(Count),
    memory_available: Type.Optional(Count),
    memory_total: Type.Optional(Count),
    heartbeat: Type.Optional(Type.Number({ description: "Seconds on the described host's own clock" })),
  },
  { additionalProperties: true },
);
export type HostRefBody = Static<typeof HostRefSchema>;

export const PolicySchema = Type.Object(
  {
    activate_on_message: Type.Optional(Type.Boolean()),
    queue_messages_when_inactive: Type.Optional(Type.Boolean()),
    activate_on_startup: Type.Optional(Type.Boolean()),
    activate_at: Type.Optional(Type.Union([Type.Number({ description: 'Seconds since epoch' }), Type.Null()])),
    after_seconds: Type.Optional(Type.Number({ minimum: 0, description: 'Shortcut for activate_at = now + after_seconds' })),
  },
  { additionalProperties: false },
);

export const DeactivateBody = Type.Object(
  {
    request: Type.Optional(
      Type.Object(
        {
          reason: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          policy: Type.Optional(Type.Union([PolicySchema, Type.Null()])),
          metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type DeactivateBody = Static<typeof DeactivateBody>;

export const ServicesQuery = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1 })),
  capability: Type.Optional(Type.String({ minLength: 1 })),
  scope: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('mesh')])),
  mesh: Type.Optional(Type.String({ pattern: '^(1|0|true|false|yes|no)$' })),
});
export type ServicesQuery = Static<typeof ServicesQuery>;

export const AdvertiseBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    capabilities: Type.Optional(Type.Array(Type.String())),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    scope: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('mesh')])),
    ttl: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type AdvertiseBody = Static<typeof AdvertiseBody>;

export const UnadvertiseBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false });
export type UnadvertiseBody = Static<typeof UnadvertiseBody>;

export const LeaseBody = Type.Object(
  {
    agent_id: Type.String({ minLength: 1 }),
    service_name: Type.String({ minLength: 1 }),
    ttl: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86400 })),
  },
  { additionalProperties: false },
);
export type LeaseBody = Static<typeof LeaseBody>;

export const LeaseParams = Type.Object({ lease_id: Type.String({ minLength: 1, maxLength: 128 }) });
export type LeaseParams = Static<typeof LeaseParams>;
