import { Migration } from '@mikro-orm/migrations';

export class Migration20261125161434 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "agents" ("id" varchar(128) not null, "namespace" varchar(128) not null, "name" varchar(200) not null, "role" text check ("role" in ('agent', 'admin')) not null default 'agent', "status" text check ("status" in ('active', 'inactive')) not null default 'active', "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "agents_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "agents_namespace_index" on "agents" ("namespace");`);

    this.addSql(
      `create table "executions" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "namespace" varchar(128) not null, "agent_id" varchar(128) not null, "connection_id" uuid not null, "tool_name" varchar(256) not null, "arguments" jsonb not null, "status" text check ("status" in ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT')) not null default 'RUNNING', "source" text check ("source" in ('REST', 'GRAPHQL', 'MCP')) not null default 'REST', "request_id" varchar(128) null, "progress" real null, "progress_total" real null, "progress_message" text null, "is_error" boolean not null default false, "result" jsonb null, "error_code" varchar(64) null, "error_message" text null, "started_at" timestamptz not null, "finished_at" timestamptz null, "duration_ms" int null, constraint "executions_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "executions_namespace_created_index" on "executions" ("namespace", "created_at");`);
    this.addSql(`create index "executions_connection_index" on "executions" ("connection_id");`);
    this.addSql(`create index "executions_status_index" on "executions" ("status");`);

    this.addSql(
      `create table "mcp_connections" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "namespace" varchar(128) not null, "agent_id" varchar(128) not null, "server_name" varchar(100) not null, "live_name" varchar(100) null, "url" text not null, "timeout_seconds" int not null default 30, "headers_sealed" text null, "status" text check ("status" in ('connecting', 'active', 'disconnected', 'error')) not null default 'connecting', "error_message" text null, "connected_at" timestamptz null, "disconnected_at" timestamptz null, constraint "mcp_connections_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "mcp_connections_namespace_agent_index" on "mcp_connections" ("namespace", "agent_id");`);
    this.addSql(`alter table "mcp_connections" add constraint "mcp_connections_agent_live_name_unique" unique ("agent_id", "live_name");`);

    this.addSql(
      `create table "tools" ("id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "connection_id" uuid not null, "namespace" varchar(128) not null, "name" varchar(256) not null, "title" text null, "description" text null, "input_schema" jsonb not null, "output_schema" jsonb null, "annotations" jsonb null, "position" int not null default 0, constraint "tools_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "tools_connection_id_index" on "tools" ("connection_id");`);
    this.addSql(`alter table "tools" add constraint "tools_connection_name_unique" unique ("connection_id", "name");`);
  }
}
