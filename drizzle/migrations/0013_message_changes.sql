CREATE TABLE "pending_message_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connection_pk" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"chat_id" text NOT NULL,
	"target_id" text NOT NULL,
	"event_id" text NOT NULL,
	"event" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL
);--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "edited_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "edits" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "reactions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "poll_votes" jsonb;--> statement-breakpoint
ALTER TABLE "pending_message_changes" ADD CONSTRAINT "pending_message_changes_connection_pk_connections_id_fk" FOREIGN KEY ("connection_pk") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "pending_message_changes_event_key" ON "pending_message_changes" USING btree ("connection_pk","event_id");--> statement-breakpoint
CREATE INDEX "pending_message_changes_target_idx" ON "pending_message_changes" USING btree ("connection_pk","target_id");
