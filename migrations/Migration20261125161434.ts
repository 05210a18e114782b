import { Migration } from '@mikro-orm/migrations';

export class Migration20261125161434 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table \`agents\` (\`id\` text not null, \`namespace\` text not null, \`name\` text not null, \`role\` text check (\`role\` in ('agent', 'admin')) not null default 'agent', \`status\` text check (\`status\` in ('active', 'inactive')) not null default 'active', \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`,
    );
    this.addSql(`create index \`agents_namespace_index\` on \`agents\` (\`namespace\`);`);

    this.addSql(
      `create table \`executions\` (\`id\` text not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`namespace\` text not null, \`agent_id\` text not null, \`connection_id\` text not null, \`tool_name\` text not null, \`arguments\` json not null, \`status\` text check (\`status\` in ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT')) not null default 'RUNNING', \`source\` text check (\`source\` in ('REST', 'GRAPHQL', 'MCP')) not null default 'REST', \`request_id\` text null, \`progress\` real null, \`progress_total\` real null, \`progress_message\` text null, \`is_error\` integer not null default false, \`result\` json null, \`error_code\` text null, \`error_message\` text null, \`started_at\` datetime not null, \`finished_at\` datetime null, \`duration_ms\` integer null, primary key (\`id\`));`,
    );
    this.addSql(`create index \`executions_namespace_created_index\` on \`executions\` (\`namespace\`, \`created_at\`);`);
    this.addSql(`create index \`executions_connection_index\` on \`executions\` (\`connection_id\`);`);
    this.addSql(`create index \`executions_status_index\` on \`executions\` (\`status\`);`);

    this.addSql(
      `create table \`mcp_connections\` (\`id\` text not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`namespace\` text not null, \`agent_id\` text not null, \`server_name\` text not null, \`live_name\` text null, \`url\` text not null, \`timeout_seconds\` integer not null default 30, \`headers_sealed\` text null, \`status\` text check (\`status\` in ('connecting', 'active', 'disconnected', 'error')) not null default 'connecting', \`error_message\` text null, \`connected_at\` datetime null, \`disconnected_at\` datetime null, primary key (\`id\`));`,
    );
    this.addSql(`create index \`mcp_connections_namespace_agent_index\` on \`mcp_connections\` (\`namespace\`, \`agent_id\`);`);
    this.addSql(`create unique index \`mcp_connections_agent_live_name_unique\` on \`mcp_connections\` (\`agent_id\`, \`live_name\`);`);

    this.addSql(
      `create table \`tools\` (\`id\` text not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`connection_id\` text not null, \`namespace\` text not null, \`name\` text not null, \`title\` text null, \`description\` text null, \`input_schema\` json not null, \`output_schema\` json null, \`annotations\` json null, \`position\` integer not null default 0, primary key (\`id\`));`,
    );
    this.addSql(`create index \`tools_connection_id_index\` on \`tools\` (\`connection_id\`);`);
    this.addSql(`create unique index \`tools_connection_name_unique\` on \`tools\` (\`connection_id\`, \`name\`);`);
  }
}
