CREATE TABLE "inbound_media" (
	"connection_pk" uuid NOT NULL,
	"provider_message_id" text NOT NULL,
	"mimetype" text NOT NULL,
	"size" bigint NOT NULL,
	"filename" text,
	"sha256" text NOT NULL,
	"r2_key" text,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbound_media_connection_pk_provider_message_id_pk" PRIMARY KEY("connection_pk","provider_message_id")
);
--> statement-breakpoint
ALTER TABLE "tenant_limits" DROP CONSTRAINT "tenant_limits_non_negative";--> statement-breakpoint
ALTER TABLE "tenant_limits" ADD COLUMN "media_in_max_bytes" bigint;--> statement-breakpoint
ALTER TABLE "inbound_media" ADD CONSTRAINT "inbound_media_connection_pk_connections_id_fk" FOREIGN KEY ("connection_pk") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_limits" ADD CONSTRAINT "tenant_limits_non_negative" CHECK (coalesce("tenant_limits"."max_connections", 0) >= 0 and coalesce("tenant_limits"."max_unlinked_sessions", 0) >= 0 and coalesce("tenant_limits"."sends_per_minute", 0) >= 0 and coalesce("tenant_limits"."media_in_max_bytes", 0) >= 0);