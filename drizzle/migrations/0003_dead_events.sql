CREATE TABLE "dead_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"body" jsonb NOT NULL,
	"attempts" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL,
	"redrive_requested_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "dead_events_redrive_idx" ON "dead_events" USING btree ("redrive_requested_at") WHERE "dead_events"."redrive_requested_at" is not null;