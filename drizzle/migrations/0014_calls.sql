CREATE TABLE "calls" (
	"connection_pk" uuid NOT NULL,
	"call_id" text NOT NULL,
	"from_jid" text NOT NULL,
	"chat_id" text NOT NULL,
	"is_video" boolean NOT NULL,
	"is_group" boolean NOT NULL,
	"group_id" text,
	"offline" boolean NOT NULL,
	"rejected" boolean NOT NULL,
	"reject_message_id" text,
	"timestamp" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "calls_connection_pk_call_id_pk" PRIMARY KEY("connection_pk","call_id")
);
--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "call_reject" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "call_reject_message" text;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_connection_pk_connections_id_fk" FOREIGN KEY ("connection_pk") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;