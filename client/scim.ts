import type { FastifyInstance } from 'fastify';
import type { BridgeContext } from './bridge';

// SCIM 2.0 service provider: being written.
export function registerScim(_app: FastifyInstance, _ctx: BridgeContext): void {}
