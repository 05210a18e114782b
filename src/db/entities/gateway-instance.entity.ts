import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * A running gateway process and its lease (SPEC §10). Every RUNNING
 * execution names the instance that runs it; the instance renews its lease
 * periodically, and once a lease has expired any instance marks that
 * instance's RUNNING executions FAILED (`GATEWAY_RESTARTED`).
 */
export const GatewayInstanceSchema = defineEntity({
  name: 'GatewayInstance',
  tableName: 'gateway_instances',
  properties: {
    id: p.string().length(64).primary(),
    /** Where it runs, for operators reading the table. */
    host: p.string().length(255),
    pid: p.integer(),
    startedAt: p.datetime(),
    /** Renewed while the instance lives; PostgreSQL uses the database's clock for it. */
    leaseExpiresAt: p.datetime().index(),
  },
});

export type GatewayInstance = InferEntity<typeof GatewayInstanceSchema>;
