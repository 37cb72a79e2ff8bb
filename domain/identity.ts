import { z } from 'zod';
import { IsoDateTime } from './hr-event';

// What an identity provider tells hrsync, normalised at the edge (Okta event hooks today): a
// user's lifecycle, or a membership of a group or an application. The login ties it to an
// employee; the identity workflow resolves who that is and turns it into a canonical HrEvent.

export const IDENTITY_CHANGES = ['user-created', 'user-activated', 'user-deactivated', 'user-suspended', 'group-added', 'group-removed', 'app-added', 'app-removed'] as const;

export const IdentityEvent = z.object({
  /** The provider's own event id: a redelivery carries the same one. */
  uuid: z.string().min(1),
  provider: z.string().min(1),
  published: IsoDateTime,
  change: z.enum(IDENTITY_CHANGES),
  /** The user's login (usually the work email). */
  login: z.string().min(1),
  /** The group or application, for membership changes. */
  group: z.string().min(1).optional(),
});
export type IdentityEvent = z.infer<typeof IdentityEvent>;
