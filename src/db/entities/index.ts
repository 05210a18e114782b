import { AgentSchema } from './agent.entity.js';
import { McpConnectionSchema } from './connection.entity.js';
import { ExecutionSchema } from './execution.entity.js';
import { GatewayInstanceSchema } from './gateway-instance.entity.js';
import { ToolSchema } from './tool.entity.js';

export * from './agent.entity.js';
export * from './connection.entity.js';
export * from './execution.entity.js';
export * from './gateway-instance.entity.js';
export * from './tool.entity.js';

export const entities = [AgentSchema, McpConnectionSchema, ToolSchema, ExecutionSchema, GatewayInstanceSchema];
