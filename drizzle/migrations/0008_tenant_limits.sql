CREATE TABLE "tenant_limits" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"max_connections" integer,
	"max_unlinked_sessions" integer,
	"sends_per_minute" integer,
	"updated_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL,
	CONSTRAINT "tenant_limits_non_negative" CHECK (coalesce("tenant_limits"."max_connections", 0) >= 0 and coalesce("tenant_limits"."max_unlinked_sessions", 0) >= 0 and coalesce("tenant_limits"."sends_per_minute", 0) >= 0)
);
--> statement-breakpoint
ALTER TABLE "tenant_limits" ADD CONSTRAINT "tenant_limits_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;