import { Type } from '@sinclair/typebox';
import { defineRoute } from '../http/route.ts';
import { errors } from '../http/errors.ts';
import { identityToWire } from './wire.ts';

export const IdentityRef = Type.String({ minLength: 1, maxLength: 255 });
export const identityNotFound = () => errors.notFound('identity', 'The requested identity does not exist.');

export default defineRoute({
  operation: 'identities.getIdentity',
  body: Type.Object({ identity: IdentityRef }, { additionalProperties: false }),
  async handler({ auth, services }, body) {
    const identity = await services.store.identities.find(auth.workspaceId, body.identity);
    if (!identity) throw identityNotFound();
    auth.require('identity.*.read_identity', `identity.${identity.id}.read_identity`);
    return { data: identityToWire(identity) };
  },
});
