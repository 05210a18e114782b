import { AgentSchema } from './agent.entity.js';
import { McpConnectionSchema } from './connection.entity.js';
import { ExecutionSchema } from './execution.entity.js';
import { GatewayInstanceSchema } from './gateway-instance.entity.js';
import { GovernanceAuditSchema } from './governance-audit.entity.js';
import { ToolPinSchema } from './tool-pin.entity.js';
import { ToolPolicySchema } from './tool-policy.entity.js';
import { ToolSchema } from './tool.entity.js';

export * from './agent.entity.js';
export * from './connection.entity.js';
export * from './execution.entity.js';
export * from './gateway-instance.entity.js';
export * from './tool.entity.js';
export * from './tool-pin.entity.js';
export * from './tool-policy.entity.js';
export * from './governance-audit.entity.js';

export const entities = [
  AgentSchema,
  McpConnectionSchema,
  ToolSchema,
  ExecutionSchema,
  GatewayInstanceSchema,
  ToolPinSchema,
  ToolPolicySchema,
  GovernanceAuditSchema,
];
