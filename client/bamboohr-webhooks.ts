import type { FastifyInstance } from 'fastify';
import type { BridgeContext } from './bridge';

// BambooHR webhooks: being written.
export function registerBambooHrWebhooks(_app: FastifyInstance, _ctx: BridgeContext): void {}
