/** The `compute-slots` v1 service contract (operations as in paglets). */
import Type from 'typebox';
import { defineContract } from '../../services/contract.ts';

const Slot = Type.Record(Type.String(), Type.Unknown(), { description: 'A ComputeSlotRequest (fields optional; normalized by the scheduler)' });
const Ids = Type.Array(Type.String());

export const ComputeSlotsContract = defineContract({
  name: 'compute-slots',
  version: '1',
  operations: {
    candidate_hosts: {
      request: Type.Object(
        {
          slot: Slot,
          limit: Type.Optional(Type.Integer({ minimum: 0 })),
          include_self: Type.Optional(Type.Boolean()),
          max_age_seconds: Type.Optional(Type.Number({ minimum: 0 })),
          placement_sample_size: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    },
    request_slot: { request: Type.Object({ slot: Slot }, { additionalProperties: false }) },
    release_slot: {
      request: Type.Object(
        { lease_id: Type.String(), agent_id: Type.Optional(Type.Union([Type.String(), Type.Null()])) },
        { additionalProperties: false },
      ),
      reply: Type.Object({ ok: Type.Boolean(), released: Type.Boolean() }),
    },
    scheduler_status: {
      request: Type.Object(
        {
          include_queue: Type.Optional(Type.Boolean()),
          include_jobs: Type.Optional(Type.Boolean()),
          include_usage: Type.Optional(Type.Boolean()),
          include_usage_history: Type.Optional(Type.Boolean()),
          include_why: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    },
    sync_scheduler_status: {
      request: Type.Object({ statuses: Type.Array(Type.Unknown()) }, { additionalProperties: false }),
      reply: Type.Object({ statuses: Type.Array(Type.Unknown()) }),
    },
    cancel_slot_requests: {
      request: Type.Object(
        {
          request_ids: Type.Optional(Ids),
          agent_ids: Type.Optional(Ids),
          job_ids: Type.Optional(Ids),
          all: Type.Optional(Type.Boolean()),
          include_leases: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
      reply: Type.Object({ cancelled_requests: Ids, cancelled_leases: Ids }),
    },
  },
});

/** The provider's agent id on every host. */
export const COMPUTE_SLOTS_AGENT_ID = 'service.compute-slots';
