CREATE TABLE "contacts" (
	"connection_pk" uuid NOT NULL,
	"jid" text NOT NULL,
	"lid" text,
	"name" text,
	"push_name" text,
	"verified_name" text,
	"created_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL,
	"updated_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL,
	CONSTRAINT "contacts_connection_pk_jid_pk" PRIMARY KEY("connection_pk","jid")
);
--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_connection_pk_connections_id_fk" FOREIGN KEY ("connection_pk") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contacts_connection_lid_idx" ON "contacts" USING btree ("connection_pk","lid");