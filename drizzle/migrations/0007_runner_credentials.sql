CREATE TABLE "auth_state_reads" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"runner_id" text NOT NULL,
	"credential_id" uuid NOT NULL,
	"connection_pk" uuid NOT NULL,
	"epoch" bigint NOT NULL,
	"read_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runner_credentials" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"runner_id" text NOT NULL,
	"name" text NOT NULL,
	"hint" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "auth_state_reads_connection_idx" ON "auth_state_reads" USING btree ("connection_pk","read_at");--> statement-breakpoint
CREATE INDEX "auth_state_reads_read_at_idx" ON "auth_state_reads" USING btree ("read_at");--> statement-breakpoint
CREATE UNIQUE INDEX "runner_credentials_token_hash_key" ON "runner_credentials" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "runner_credentials_active_idx" ON "runner_credentials" USING btree ("runner_id") WHERE "runner_credentials"."revoked_at" is null;