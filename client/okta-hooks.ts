import type { FastifyInstance } from 'fastify';
import type { BridgeContext } from './bridge';

// Okta event hooks: being written.
export function registerOktaEventHooks(_app: FastifyInstance, _ctx: BridgeContext): void {}
